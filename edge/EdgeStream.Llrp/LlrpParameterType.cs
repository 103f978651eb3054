namespace EdgeStream.Llrp;

/// <summary>
/// LLRP 1.0.1 parameter types. Types 1..127 are TV-encoded (fixed length, see
/// <see cref="LlrpParameterReader.TvLength"/>); 128..1023 are TLV-encoded.
/// </summary>
public enum LlrpParameterType : ushort
{
#pragma warning disable CS1591 // Names are the spec's; each is documented there.
    AntennaId = 1,
    FirstSeenTimestampUtc = 2,
    FirstSeenTimestampUptime = 3,
    LastSeenTimestampUtc = 4,
    LastSeenTimestampUptime = 5,
    PeakRssi = 6,
    ChannelIndex = 7,
    TagSeenCount = 8,
    ROSpecId = 9,
    InventoryParameterSpecId = 10,
    C1G2Crc = 11,
    C1G2Pc = 12,
    Epc96 = 13,
    SpecIndex = 14,
    ClientRequestOpSpecResult = 15,
    AccessSpecId = 16,
    OpSpecId = 17,
    C1G2SingulationDetails = 18,
    C1G2XpcW1 = 19,
    C1G2XpcW2 = 20,

    UtcTimestamp = 128,
    Uptime = 129,
    GeneralDeviceCapabilities = 137,
    ReceiveSensitivityTableEntry = 139,
    PerAntennaAirProtocol = 140,
    GpioCapabilities = 141,
    LlrpCapabilities = 142,
    RegulatoryCapabilities = 143,
    UhfBandCapabilities = 144,
    TransmitPowerLevelTableEntry = 145,
    FrequencyInformation = 146,
    FrequencyHopTable = 147,
    FixedFrequencyTable = 148,
    PerAntennaReceiveSensitivityRange = 149,
    ROSpec = 177,
    ROBoundarySpec = 178,
    ROSpecStartTrigger = 179,
    PeriodicTriggerValue = 180,
    GpiTriggerValue = 181,
    ROSpecStopTrigger = 182,
    AISpec = 183,
    AISpecStopTrigger = 184,
    TagObservationTrigger = 185,
    InventoryParameterSpec = 186,
    LlrpConfigurationStateValue = 217,
    Identification = 218,
    GpoWriteData = 219,
    KeepaliveSpec = 220,
    AntennaProperties = 221,
    AntennaConfiguration = 222,
    RfReceiver = 223,
    RfTransmitter = 224,
    GpiPortCurrentState = 225,
    EventsAndReports = 226,
    ROReportSpec = 237,
    TagReportContentSelector = 238,
    AccessReportSpec = 239,
    TagReportData = 240,
    EpcData = 241,
    RfSurveyReportData = 242,
    ReaderEventNotificationSpec = 244,
    EventNotificationState = 245,
    ReaderEventNotificationData = 246,
    HoppingEvent = 247,
    GpiEvent = 248,
    ROSpecEvent = 249,
    ReportBufferLevelWarningEvent = 250,
    ReportBufferOverflowErrorEvent = 251,
    ReaderExceptionEvent = 252,
    RfSurveyEvent = 253,
    AISpecEvent = 254,
    AntennaEvent = 255,
    ConnectionAttemptEvent = 256,
    ConnectionCloseEvent = 257,
    LlrpStatus = 287,
    FieldError = 288,
    ParameterError = 289,
    C1G2LlrpCapabilities = 327,
    UhfC1G2RfModeTable = 328,
    UhfC1G2RfModeTableEntry = 329,
    C1G2InventoryCommand = 330,
    C1G2Filter = 331,
    C1G2RfControl = 335,
    C1G2SingulationControl = 336,
    C1G2EpcMemorySelector = 348,
    Custom = 1023,
#pragma warning restore CS1591
}

/// <summary>Vendor numbers and subtypes of the vendor extensions the client understands.</summary>
public static class LlrpVendor
{
    /// <summary>Impinj's IANA private enterprise number.</summary>
    public const uint Impinj = 25882;

    /// <summary>ImpinjInventorySearchMode (inside C1G2InventoryCommand): u16 mode.</summary>
    public const uint ImpinjInventorySearchMode = 23;

    /// <summary>ImpinjTagReportContentSelector (inside ROReportSpec).</summary>
    public const uint ImpinjTagReportContentSelector = 50;

    /// <summary>ImpinjEnablePeakRSSI (inside ImpinjTagReportContentSelector): u16 mode, 1 = enabled.</summary>
    public const uint ImpinjEnablePeakRssi = 53;

    /// <summary>ImpinjPeakRSSI (inside TagReportData): s16 in hundredths of a dBm.</summary>
    public const uint ImpinjPeakRssi = 57;
}
