using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using EdgeStream.Llrp;
using EdgeStream.Llrp.Model;

namespace EdgeStream.Emulators;

/// <summary>Options of an <see cref="LlrpEmulator"/>.</summary>
public sealed record LlrpEmulatorOptions
{
    /// <summary>The tag population and its movement.</summary>
    public required Scenario Scenario { get; init; }

    /// <summary>Address to listen on.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>Port to listen on; 0 picks a free one (read it back from <see cref="LlrpEmulator.Port"/>).</summary>
    public int Port { get; init; }

    /// <summary>Repeat the scenario forever.</summary>
    public bool Loop { get; init; }

    /// <summary>Faults to inject.</summary>
    public LlrpFaults Faults { get; init; } = LlrpFaults.None;

    /// <summary>
    /// The wall-clock instant the timeline's 0 ms stands for; null starts it at the first inventory.
    /// Emulated readers given the same instant play one site's timeline together.
    /// </summary>
    public DateTimeOffset? StartAt { get; init; }

    /// <summary>Where to write one line per notable event (connections, faults); null for silence.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>
/// An LLRP reader on a TCP port, good enough for the product's client to go through its whole
/// connection sequence: it announces the connection, answers capabilities and configuration, keeps
/// one ROSpec, inventories the scenario's tags on the spec's antennas, reports every N tags, sends
/// keepalives, and closes politely. Faults make it misbehave the way real readers and networks do.
/// </summary>
public sealed partial class LlrpEmulator : IAsyncDisposable
{
    private readonly LlrpEmulatorOptions _options;
    private readonly CancellationTokenSource _stop = new();
    private readonly Stopwatch _scenarioClock = new();
    private readonly List<Task> _sessions = [];
    private readonly List<Connection> _live = [];
    private readonly HashSet<uint> _pendingKeepalives = [];
    private readonly Lock _gate = new();
    private TcpListener? _listener;
    private Task? _acceptLoop;
    private int _active;
    private int _busyLeft;
    private uint _nextId = 1000;

    /// <summary>Creates an emulator; call <see cref="StartAsync"/> to listen.</summary>
    public LlrpEmulator(LlrpEmulatorOptions options)
    {
        _options = options;
        _busyLeft = options.Faults.BusyConnections;
    }

    /// <summary>The port being listened on.</summary>
    public int Port { get; private set; }

    /// <summary>Connections accepted and served.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>Connections refused as busy.</summary>
    public int RefusedConnections => Volatile.Read(ref _refused);

    /// <summary>RO_ACCESS_REPORT messages sent.</summary>
    public long ReportsSent => Interlocked.Read(ref _reportsSent);

    /// <summary>Tag reads sent.</summary>
    public long TagsSent => Interlocked.Read(ref _tagsSent);

    /// <summary>KEEPALIVE_ACKs received that echo the id of a KEEPALIVE sent.</summary>
    public long KeepaliveAcks => Interlocked.Read(ref _keepaliveAcks);

    /// <summary>CLOSE_CONNECTION requests received.</summary>
    public int CloseRequests => Volatile.Read(ref _closeRequests);

    /// <summary>The last SET_READER_CONFIG received.</summary>
    public SetReaderConfig? LastConfig { get; private set; }

    /// <summary>The last ROSpec added.</summary>
    public ROSpec? LastROSpec { get; private set; }

    /// <summary>START_ROSPEC requests received.</summary>
    public int StartRequests => Volatile.Read(ref _startRequests);

    private int _connections;
    private int _refused;
    private long _reportsSent;
    private long _tagsSent;
    private long _keepaliveAcks;
    private int _closeRequests;
    private int _startRequests;

    /// <summary>Binds the port and starts accepting clients.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        _listener = new TcpListener(IPAddress.Parse(_options.Host), _options.Port);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptLoopAsync();
        return Task.CompletedTask;
    }

    /// <summary>Stops listening and closes every connection.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener?.Stop();
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        Task[] sessions;
        lock (_gate)
        {
            sessions = [.. _sessions];
        }

        await Task.WhenAll(sessions).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener!.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }

            socket.NoDelay = true;
            var task = Task.Run(() => ServeAsync(socket));
            lock (_gate)
            {
                _sessions.RemoveAll(t => t.IsCompleted);
                _sessions.Add(task);
            }
        }
    }

    private void Log(string line) => _options.Log?.Invoke(line);

    private uint NextId() => Interlocked.Increment(ref _nextId);

    private static ulong NowUs() => (ulong)((DateTimeOffset.UtcNow.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10);
}
