namespace EdgeStream.Llrp.Model;

/// <summary>GET_READER_CONFIG_RESPONSE: the reader's current configuration.</summary>
public sealed record ReaderConfig(
    LlrpStatus LlrpStatus,
    Identification? Identification,
    IReadOnlyList<AntennaProperties> AntennaProperties,
    IReadOnlyList<AntennaConfiguration> AntennaConfigurations,
    ReaderEventNotificationSpec? ReaderEventNotificationSpec,
    ROReportSpec? ROReportSpec,
    byte? AccessReportSpec,
    uint? LlrpConfigurationStateValue,
    KeepaliveSpec? KeepAliveSpec,
    IReadOnlyList<GpiPortCurrentState> GpiPortCurrentStates,
    IReadOnlyList<GpoWriteData> GpoWriteData,
    bool? EventsAndReports,
    IReadOnlyList<CustomParameter> Custom);

/// <summary>The reader's identity: MAC (0) or EPC (1) and its bytes.</summary>
public sealed record Identification(byte IdType, byte[] ReaderId);

/// <summary>Whether an antenna is connected, and its gain.</summary>
public sealed record AntennaProperties(bool AntennaConnected, ushort AntennaId, short AntennaGain);

/// <summary>Per-antenna RF and Gen2 settings. Antenna 0 means every antenna.</summary>
public sealed record AntennaConfiguration(
    ushort AntennaId,
    ushort? RfReceiver,
    RfTransmitter? RfTransmitter,
    C1G2InventoryCommand? C1G2InventoryCommand,
    IReadOnlyList<CustomParameter> Custom);

/// <summary>Transmit settings: hop table, channel and transmit power index (into the capabilities' power table).</summary>
public sealed record RfTransmitter(ushort HopTableId, ushort ChannelIndex, ushort TransmitPowerIndex);

/// <summary>Gen2 inventory settings.</summary>
public sealed record C1G2InventoryCommand(
    bool TagInventoryStateAware,
    C1G2RfControl? RfControl,
    C1G2SingulationControl? SingulationControl,
    IReadOnlyList<CustomParameter> Custom)
{
    /// <summary>The Impinj search mode in <see cref="Custom"/>, when present.</summary>
    public ushort? ImpinjSearchMode => Custom
        .Where(c => c.VendorId == LlrpVendor.Impinj && c.Subtype == LlrpVendor.ImpinjInventorySearchMode && c.Data.Length >= 2)
        .Select(c => (ushort?)((c.Data[0] << 8) | c.Data[1]))
        .FirstOrDefault();
}

/// <summary>RF mode (index into the mode table) and Tari.</summary>
public sealed record C1G2RfControl(ushort RfModeId, ushort Tari);

/// <summary>Gen2 session (0–3), expected tag population and transit time.</summary>
public sealed record C1G2SingulationControl(byte Session, ushort TagPopulation, uint TagTransitTime);

/// <summary>Which reader events are reported.</summary>
public sealed record ReaderEventNotificationSpec(IReadOnlyList<EventNotificationState> EventNotificationStates);

/// <summary>One reader event type and whether it is reported.</summary>
public sealed record EventNotificationState(ushort ReaderEventType, bool NotificationEnabled);

/// <summary>When reports are sent and what each tag report contains.</summary>
public sealed record ROReportSpec(byte Trigger, ushort N, TagReportContentSelector? TagReportContentSelector, IReadOnlyList<CustomParameter> Custom)
{
    /// <summary>True when the Impinj content selector asks for Impinj peak RSSI.</summary>
    public bool ImpinjPeakRssiEnabled => Custom.Any(c => c.VendorId == LlrpVendor.Impinj && c.Subtype == LlrpVendor.ImpinjTagReportContentSelector
        && LlrpDecoder.ImpinjSelectorEnablesPeakRssi(c.Data));
}

/// <summary>Which fields each TagReportData carries.</summary>
public sealed record TagReportContentSelector(
    bool EnableROSpecId,
    bool EnableSpecIndex,
    bool EnableInventoryParamSpecId,
    bool EnableAntennaId,
    bool EnableChannelIndex,
    bool EnablePeakRssi,
    bool EnableFirstSeenTimestamp,
    bool EnableLastSeenTimestamp,
    bool EnableTagSeenCount,
    bool EnableAccessSpecId,
    C1G2EpcMemorySelector? C1G2EpcMemorySelector,
    IReadOnlyList<CustomParameter> Custom);

/// <summary>Whether CRC, PC and XPC bits are reported.</summary>
public sealed record C1G2EpcMemorySelector(bool CrcEnabled, bool PcBitsEnabled, bool XpcBitsEnabled);

/// <summary>Keepalive trigger (0 none, 1 periodic) and interval in milliseconds.</summary>
public sealed record KeepaliveSpec(byte Trigger, uint Interval);

/// <summary>A GPI port's configuration and state.</summary>
public sealed record GpiPortCurrentState(ushort Port, bool Enabled, byte State);

/// <summary>A GPO port's output.</summary>
public sealed record GpoWriteData(ushort Port, bool Data);
