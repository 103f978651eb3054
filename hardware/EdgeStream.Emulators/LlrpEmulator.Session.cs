using System.Net.Sockets;
using EdgeStream.Llrp;
using EdgeStream.Llrp.Model;

namespace EdgeStream.Emulators;

public sealed partial class LlrpEmulator
{
    private sealed class Connection(Socket socket, NetworkStream stream)
    {
        public Socket Socket { get; } = socket;

        public NetworkStream Stream { get; } = stream;

        public SemaphoreSlim WriteLock { get; } = new(1, 1);

        public CancellationTokenSource Closed { get; } = new();

        public TimeSpan KeepaliveInterval { get; set; }

        public ROSpec? Spec { get; set; }

        public ROReportSpec? DefaultReportSpec { get; set; }

        public bool Enabled { get; set; }

        public bool Running { get; set; }

        public bool Stalled { get; set; }

        public int Reports { get; set; }

        public Task? Inventory { get; set; }
    }

    private async Task ServeAsync(Socket socket)
    {
        using var stream = new NetworkStream(socket, ownsSocket: true);
        var conn = new Connection(socket, stream);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, conn.Closed.Token);
        var ct = linked.Token;
        var refuse = false;
        lock (_gate)
        {
            if (_active > 0 || _busyLeft > 0)
            {
                refuse = true;
                if (_busyLeft > 0)
                {
                    _busyLeft--;
                }
            }
            else
            {
                _active++;
            }
        }

        try
        {
            if (refuse)
            {
                Interlocked.Increment(ref _refused);
                Log("llrp: refusing a connection: busy");
                await SendAsync(conn, w => LlrpEncoder.ReaderEventNotification(w, NextId(), NowUs(), new ReaderEventNotificationData
                {
                    ConnectionAttemptEvent = new ConnectionAttemptEvent(ConnectionAttemptStatus.FailedClientInitiatedConnectionExists),
                }), ct);
                return;
            }

            Interlocked.Increment(ref _connections);
            lock (_gate)
            {
                _live.Add(conn);
            }

            Log($"llrp: client connected from {socket.RemoteEndPoint}");
            await SendAsync(conn, w => LlrpEncoder.ReaderEventNotification(w, NextId(), NowUs(), new ReaderEventNotificationData
            {
                ConnectionAttemptEvent = new ConnectionAttemptEvent(ConnectionAttemptStatus.Success),
            }), ct);
            var keepalive = KeepaliveLoopAsync(conn, ct);
            await ReadLoopAsync(conn, ct);
            await conn.Closed.CancelAsync();
            await keepalive.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (conn.Inventory is { } inventory)
            {
                await inventory.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException or LlrpFormatException)
        {
            Log($"llrp: connection ended: {ex.Message}");
        }
        finally
        {
            await conn.Closed.CancelAsync();
            if (!refuse)
            {
                lock (_gate)
                {
                    _active--;
                    _live.Remove(conn);
                }
            }

            conn.Closed.Dispose();
        }
    }

    private async Task ReadLoopAsync(Connection conn, CancellationToken ct)
    {
        var framer = new LlrpFramer(System.IO.Pipelines.PipeReader.Create(conn.Stream));
        while (await framer.ReadAsync(ct) is { } message)
        {
            using (message)
            {
                if (conn.Stalled)
                {
                    continue;
                }

                if (!await HandleAsync(conn, message, ct))
                {
                    return;
                }
            }
        }
    }

    private async Task<bool> HandleAsync(Connection conn, LlrpMessage message, CancellationToken ct)
    {
        var id = message.Header.MessageId;
        try
        {
            switch (message.Header.Type)
            {
                case LlrpMessageType.GetReaderCapabilities:
                    await SendAsync(conn, w => LlrpEncoder.ReaderCapabilitiesResponse(w, id, Capabilities()), ct);
                    break;
                case LlrpMessageType.SetReaderConfig:
                    var config = LlrpDecoder.DecodeSetReaderConfig(message.Body);
                    LastConfig = config;
                    if (config.ResetToFactoryDefaults)
                    {
                        conn.Spec = null;
                        conn.Running = false;
                        conn.Enabled = false;
                        conn.KeepaliveInterval = TimeSpan.Zero;
                    }

                    if (config.KeepaliveSpec is { } k)
                    {
                        conn.KeepaliveInterval = k.Trigger == 1 ? TimeSpan.FromMilliseconds(Math.Max(10, k.Interval)) : TimeSpan.Zero;
                    }

                    conn.DefaultReportSpec = config.ROReportSpec ?? conn.DefaultReportSpec;
                    await Status(conn, LlrpMessageType.SetReaderConfigResponse, id, ct);
                    break;
                case LlrpMessageType.GetReaderConfig:
                    await Status(conn, LlrpMessageType.GetReaderConfigResponse, id, ct);
                    break;
                case LlrpMessageType.DeleteROSpec:
                    var deleteId = LlrpDecoder.DecodeROSpecId(message.Body);
                    if (deleteId != 0 && conn.Spec?.ROSpecId != deleteId)
                    {
                        await Status(conn, LlrpMessageType.DeleteROSpecResponse, id, ct, LlrpStatusCode.InvalidField, $"no ROSpec {deleteId}");
                        break;
                    }

                    conn.Spec = null;
                    conn.Running = false;
                    conn.Enabled = false;
                    await Status(conn, LlrpMessageType.DeleteROSpecResponse, id, ct);
                    break;
                case LlrpMessageType.AddROSpec:
                    var spec = LlrpDecoder.DecodeAddROSpec(message.Body);
                    var bad = spec.AntennaIds.FirstOrDefault(a => a > _options.Scenario.Antennas);
                    if (conn.Spec is not null)
                    {
                        await Status(conn, LlrpMessageType.AddROSpecResponse, id, ct, LlrpStatusCode.InvalidField, "a ROSpec already exists");
                    }
                    else if (bad != 0)
                    {
                        await Status(conn, LlrpMessageType.AddROSpecResponse, id, ct, LlrpStatusCode.OutOfRange, $"antenna {bad} does not exist (reader has {_options.Scenario.Antennas})");
                    }
                    else
                    {
                        conn.Spec = spec;
                        LastROSpec = spec;
                        await Status(conn, LlrpMessageType.AddROSpecResponse, id, ct);
                    }

                    break;
                case LlrpMessageType.EnableROSpec:
                    if (conn.Spec is null || LlrpDecoder.DecodeROSpecId(message.Body) != conn.Spec.ROSpecId)
                    {
                        await Status(conn, LlrpMessageType.EnableROSpecResponse, id, ct, LlrpStatusCode.InvalidField, "no such ROSpec");
                        break;
                    }

                    conn.Enabled = true;
                    await Status(conn, LlrpMessageType.EnableROSpecResponse, id, ct);
                    if (conn.Spec.StartTrigger is ROSpecStartTriggerType.Immediate or ROSpecStartTriggerType.Periodic)
                    {
                        StartInventory(conn, ct);
                    }

                    break;
                case LlrpMessageType.StartROSpec:
                    Interlocked.Increment(ref _startRequests);
                    if (conn.Spec is null || !conn.Enabled || LlrpDecoder.DecodeROSpecId(message.Body) != conn.Spec.ROSpecId)
                    {
                        await Status(conn, LlrpMessageType.StartROSpecResponse, id, ct, LlrpStatusCode.InvalidField, "ROSpec missing or not enabled");
                        break;
                    }

                    await Status(conn, LlrpMessageType.StartROSpecResponse, id, ct);
                    StartInventory(conn, ct);
                    await SendAsync(conn, w => LlrpEncoder.ReaderEventNotification(w, NextId(), NowUs(), new ReaderEventNotificationData { ROSpecEvent = new ROSpecEvent(0, conn.Spec.ROSpecId, 0) }), ct);
                    break;
                case LlrpMessageType.StopROSpec:
                case LlrpMessageType.DisableROSpec:
                    conn.Running = false;
                    await Status(conn, message.Header.Type == LlrpMessageType.StopROSpec ? LlrpMessageType.StopROSpecResponse : LlrpMessageType.DisableROSpecResponse, id, ct);
                    break;
                case LlrpMessageType.KeepaliveAck:
                    // Only an acknowledgement that echoes the id of a keepalive we sent counts.
                    bool known;
                    lock (_gate)
                    {
                        known = _pendingKeepalives.Remove(id);
                    }

                    if (known)
                    {
                        Interlocked.Increment(ref _keepaliveAcks);
                    }

                    break;
                case LlrpMessageType.CloseConnection:
                    Interlocked.Increment(ref _closeRequests);
                    conn.Running = false;
                    await Status(conn, LlrpMessageType.CloseConnectionResponse, id, ct);
                    Log("llrp: client closed the connection");
                    return false;
                default:
                    await Status(conn, LlrpMessageType.ErrorMessage, id, ct, LlrpStatusCode.UnsupportedMessage, $"message type {(ushort)message.Header.Type} is not supported");
                    break;
            }
        }
        catch (LlrpFormatException ex)
        {
            await Status(conn, LlrpMessageType.ErrorMessage, id, ct, LlrpStatusCode.ParameterError, ex.Message);
        }

        return true;
    }

    /// <summary>Sends a READER_EVENT_NOTIFICATION to the connected client (antenna, buffer, exception events…).</summary>
    public Task NotifyAsync(ReaderEventNotificationData events) =>
        BroadcastAsync(w => LlrpEncoder.ReaderEventNotification(w, NextId(), NowUs(), events));

    /// <summary>Sends an ERROR_MESSAGE, as a reader does when it could not process something.</summary>
    public Task SendErrorMessageAsync(LlrpStatusCode code, string description) =>
        BroadcastAsync(w => LlrpEncoder.StatusResponse(w, LlrpMessageType.ErrorMessage, NextId(), code, description));

    private async Task BroadcastAsync(Action<LlrpWriter> build)
    {
        Connection[] live;
        lock (_gate)
        {
            live = [.. _live];
        }

        foreach (var conn in live)
        {
            await SendAsync(conn, build, conn.Closed.Token);
        }
    }

    private Task Status(Connection conn, LlrpMessageType type, uint id, CancellationToken ct, LlrpStatusCode code = LlrpStatusCode.Success, string description = "") =>
        SendAsync(conn, w => LlrpEncoder.StatusResponse(w, type, id, code, description), ct);

    private ReaderCapabilities Capabilities()
    {
        var antennas = (ushort)_options.Scenario.Antennas;
        var powers = Enumerable.Range(0, 91).Select(i => new TransmitPowerLevel((ushort)(i + 1), (short)(1000 + (i * 25)))).ToArray();
        return new ReaderCapabilities(
            LlrpStatus.Success,
            new GeneralDeviceCapabilities(antennas, false, true, LlrpVendor.Impinj, 2001002, "edgestream-emulator", [], [], new GpioCapabilities(4, 4),
                Enumerable.Range(1, antennas).Select(a => new PerAntennaAirProtocol((ushort)a, [1])).ToArray()),
            new LlrpCapabilities(false, true, false, false, true, 1, 0, 1, 32, 1, 1508, 8),
            new RegulatoryCapabilities(840, 1, new UhfBandCapabilities(powers, new FrequencyInformation(true, [new FrequencyHopTable(1, [902750, 915250, 927250])], null), null), []),
            new C1G2LlrpCapabilities(false, true, false, false, false, false, 2),
            []);
    }

    private async Task KeepaliveLoopAsync(Connection conn, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var interval = conn.KeepaliveInterval;
            if (interval <= TimeSpan.Zero)
            {
                await Task.Delay(20, ct);
                continue;
            }

            await Task.Delay(interval + TimeSpan.FromMilliseconds(_options.Faults.KeepaliveDelayMs), ct);
            if (!conn.Stalled && conn.KeepaliveInterval > TimeSpan.Zero)
            {
                var keepaliveId = NextId();
                lock (_gate)
                {
                    _pendingKeepalives.Add(keepaliveId);
                }

                await SendAsync(conn, w => LlrpEncoder.Empty(w, LlrpMessageType.Keepalive, keepaliveId), ct);
            }
        }
    }

    private async Task SendAsync(Connection conn, Action<LlrpWriter> build, CancellationToken ct)
    {
        var w = new LlrpWriter(256);
        build(w);
        await WriteAsync(conn, w.WrittenMemory, ct);
    }

    private async Task WriteAsync(Connection conn, ReadOnlyMemory<byte> bytes, CancellationToken ct)
    {
        await conn.WriteLock.WaitAsync(ct);
        try
        {
            if (_options.Faults.SplitBytes is { } piece)
            {
                for (var o = 0; o < bytes.Length; o += piece)
                {
                    await conn.Stream.WriteAsync(bytes.Slice(o, Math.Min(piece, bytes.Length - o)), ct);
                    await conn.Stream.FlushAsync(ct);
                    await Task.Yield();
                }
            }
            else
            {
                await conn.Stream.WriteAsync(bytes, ct);
            }
        }
        finally
        {
            conn.WriteLock.Release();
        }
    }
}
