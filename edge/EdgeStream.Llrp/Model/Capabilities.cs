namespace EdgeStream.Llrp.Model;

/// <summary>GET_READER_CAPABILITIES_RESPONSE: what the reader can do.</summary>
public sealed record ReaderCapabilities(
    LlrpStatus LlrpStatus,
    GeneralDeviceCapabilities? GeneralDeviceCapabilities,
    LlrpCapabilities? LlrpCapabilities,
    RegulatoryCapabilities? RegulatoryCapabilities,
    C1G2LlrpCapabilities? C1G2LlrpCapabilities,
    IReadOnlyList<CustomParameter> Custom);

/// <summary>Device identity, antenna count, sensitivity and GPIO.</summary>
public sealed record GeneralDeviceCapabilities(
    ushort MaxSupportedAntennas,
    bool CanSetAntennaProperties,
    bool HasUtcClock,
    uint DeviceManufacturer,
    uint Model,
    string FirmwareVersion,
    IReadOnlyList<ReceiveSensitivityEntry> ReceiveSensitivities,
    IReadOnlyList<PerAntennaReceiveSensitivityRange> PerAntennaReceiveSensitivityRanges,
    GpioCapabilities? GpioCapabilities,
    IReadOnlyList<PerAntennaAirProtocol> PerAntennaAirProtocols);

/// <summary>A receive sensitivity table entry (dB relative to maximum).</summary>
public sealed record ReceiveSensitivityEntry(ushort Index, short ReceiveSensitivity);

/// <summary>The sensitivity indices one antenna supports.</summary>
public sealed record PerAntennaReceiveSensitivityRange(ushort AntennaId, ushort ReceiveSensitivityIndexMin, ushort ReceiveSensitivityIndexMax);

/// <summary>Number of general-purpose inputs and outputs.</summary>
public sealed record GpioCapabilities(ushort NumGpis, ushort NumGpos);

/// <summary>Air protocols one antenna supports (1 = EPCglobal Class 1 Gen 2).</summary>
public sealed record PerAntennaAirProtocol(ushort AntennaId, byte[] AirProtocolIds);

/// <summary>LLRP-level limits: ROSpecs, AccessSpecs, report holding.</summary>
public sealed record LlrpCapabilities(
    bool CanDoRfSurvey,
    bool CanReportBufferFillWarning,
    bool SupportsClientRequestOpSpec,
    bool CanDoTagInventoryStateAwareSingulation,
    bool SupportsEventsAndReportHolding,
    byte MaxPriorityLevelSupported,
    ushort ClientRequestedOpSpecTimeout,
    uint MaxROSpecs,
    uint MaxSpecsPerROSpec,
    uint MaxInventoryParameterSpecsPerAISpec,
    uint MaxAccessSpecs,
    uint MaxOpSpecsPerAccessSpec);

/// <summary>Country, standard and the UHF band: power levels, frequencies, RF modes.</summary>
public sealed record RegulatoryCapabilities(
    ushort CountryCode,
    ushort CommunicationsStandard,
    UhfBandCapabilities? UhfBandCapabilities,
    IReadOnlyList<CustomParameter> Custom);

/// <summary>The UHF band: transmit power table, frequencies, Gen2 RF modes.</summary>
public sealed record UhfBandCapabilities(
    IReadOnlyList<TransmitPowerLevel> TransmitPowerLevels,
    FrequencyInformation? FrequencyInformation,
    C1G2RfModes? C1G2RfModes);

/// <summary>One transmit power setting: the index used in RFTransmitter, the power in hundredths of a dBm.</summary>
public sealed record TransmitPowerLevel(ushort Index, short TransmitPowerValue);

/// <summary>Hop tables or a fixed frequency table.</summary>
public sealed record FrequencyInformation(bool Hopping, IReadOnlyList<FrequencyHopTable> FrequencyHopTables, FixedFrequencyTable? FixedFrequencyTable);

/// <summary>A frequency hop table, frequencies in kHz.</summary>
public sealed record FrequencyHopTable(byte HopTableId, uint[] Frequencies);

/// <summary>Fixed frequencies in kHz.</summary>
public sealed record FixedFrequencyTable(uint[] Frequencies);

/// <summary>The Gen2 RF mode table.</summary>
public sealed record C1G2RfModes(IReadOnlyList<UhfC1G2RfModeTableEntry> UhfC1G2RfModeTableEntries);

/// <summary>One Gen2 RF mode.</summary>
public sealed record UhfC1G2RfModeTableEntry(
    uint ModeId,
    byte DivideRatio,
    bool IsEpcHagConformant,
    byte Modulation,
    byte ForwardLinkModulation,
    byte SpectralMask,
    uint BackscatterDataRate,
    uint PieRatio,
    uint MinTariTime,
    uint MaxTariTime,
    uint StepTariTime);

/// <summary>Gen2 access features and filter limits.</summary>
public sealed record C1G2LlrpCapabilities(
    bool SupportsBlockErase,
    bool SupportsBlockWrite,
    bool SupportsBlockPermalock,
    bool SupportsTagRecommissioning,
    bool SupportsUmiMethod2,
    bool SupportsXpc,
    ushort MaxSelectFiltersPerQuery);
