namespace EdgeStream.Llrp;

/// <summary>LLRP 1.0.1 message types (the 10-bit type field of the message header).</summary>
public enum LlrpMessageType : ushort
{
    /// <summary>Client asks what the reader can do.</summary>
    GetReaderCapabilities = 1,

    /// <summary>Client asks for the reader's current configuration.</summary>
    GetReaderConfig = 2,

    /// <summary>Client sets the reader's configuration.</summary>
    SetReaderConfig = 3,

    /// <summary>Reader answers <see cref="CloseConnection"/>.</summary>
    CloseConnectionResponse = 4,

    /// <summary>Reader answers <see cref="GetReaderCapabilities"/>.</summary>
    GetReaderCapabilitiesResponse = 11,

    /// <summary>Reader answers <see cref="GetReaderConfig"/>.</summary>
    GetReaderConfigResponse = 12,

    /// <summary>Reader answers <see cref="SetReaderConfig"/>.</summary>
    SetReaderConfigResponse = 13,

    /// <summary>Client asks the reader to close the connection.</summary>
    CloseConnection = 14,

    /// <summary>Client adds a reader operation spec.</summary>
    AddROSpec = 20,

    /// <summary>Client deletes a ROSpec (0 = all).</summary>
    DeleteROSpec = 21,

    /// <summary>Client starts a ROSpec whose start trigger is null.</summary>
    StartROSpec = 22,

    /// <summary>Client stops a ROSpec.</summary>
    StopROSpec = 23,

    /// <summary>Client enables a ROSpec.</summary>
    EnableROSpec = 24,

    /// <summary>Client disables a ROSpec.</summary>
    DisableROSpec = 25,

    /// <summary>Client lists ROSpecs.</summary>
    GetROSpecs = 26,

    /// <summary>Reader answers <see cref="AddROSpec"/>.</summary>
    AddROSpecResponse = 30,

    /// <summary>Reader answers <see cref="DeleteROSpec"/>.</summary>
    DeleteROSpecResponse = 31,

    /// <summary>Reader answers <see cref="StartROSpec"/>.</summary>
    StartROSpecResponse = 32,

    /// <summary>Reader answers <see cref="StopROSpec"/>.</summary>
    StopROSpecResponse = 33,

    /// <summary>Reader answers <see cref="EnableROSpec"/>.</summary>
    EnableROSpecResponse = 34,

    /// <summary>Reader answers <see cref="DisableROSpec"/>.</summary>
    DisableROSpecResponse = 35,

    /// <summary>Reader answers <see cref="GetROSpecs"/>.</summary>
    GetROSpecsResponse = 36,

    /// <summary>Client deletes an AccessSpec (0 = all).</summary>
    DeleteAccessSpec = 41,

    /// <summary>Reader answers <see cref="DeleteAccessSpec"/>.</summary>
    DeleteAccessSpecResponse = 51,

    /// <summary>Reader answers GET_ACCESSSPECS.</summary>
    GetAccessSpecsResponse = 54,

    /// <summary>Client asks for buffered reports.</summary>
    GetReport = 60,

    /// <summary>Tag reads (and access results) from the reader.</summary>
    ROAccessReport = 61,

    /// <summary>Reader's periodic liveness message; the client answers with <see cref="KeepaliveAck"/>.</summary>
    Keepalive = 62,

    /// <summary>Reader events: connection attempt, antenna, ROSpec, buffer warnings.</summary>
    ReaderEventNotification = 63,

    /// <summary>Client releases held events and reports.</summary>
    EnableEventsAndReports = 64,

    /// <summary>Client acknowledges a <see cref="Keepalive"/>, echoing its message id.</summary>
    KeepaliveAck = 72,

    /// <summary>Reader could not parse or does not support a message.</summary>
    ErrorMessage = 100,

    /// <summary>Vendor extension message.</summary>
    CustomMessage = 1023,
}
