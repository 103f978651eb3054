using System.Runtime.InteropServices;

namespace EdgeStream.Emulators;

/// <summary>
/// <c>edgestream-emulator llrp --scenario FILE [--host 127.0.0.1] [--port 0] [--loop] [--start-at UNIX_MS] [--fault NAME[=VALUE]]...</c>
/// <c>edgestream-emulator r2000 --scenario FILE [--pty-link PATH] [--loop] [--fault NAME[=VALUE]]...</c>
/// Prints <c>listening llrp 127.0.0.1:PORT</c> or <c>listening r2000 /dev/pts/N</c> once ready; stops on SIGTERM or Ctrl-C.
/// </summary>
internal static class Program
{
    private const string Usage =
        "usage: edgestream-emulator llrp --scenario FILE [--host 127.0.0.1] [--port 0] [--loop] [--start-at UNIX_MS] [--fault NAME[=VALUE]]...\n" +
        "       edgestream-emulator r2000 --scenario FILE [--pty-link PATH] [--address 255] [--loop] [--fault NAME[=VALUE]]...";

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            Console.Error.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        using var stop = new CancellationTokenSource();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stop.Cancel();
        });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c =>
        {
            c.Cancel = true;
            stop.Cancel();
        });

        try
        {
            var options = CommandLine.Parse(args.AsSpan(1).ToArray());
            switch (args[0])
            {
                case "llrp":
                    await using (var emulator = new LlrpEmulator(new LlrpEmulatorOptions
                    {
                        Scenario = Scenario.Load(options.Scenario),
                        Host = options.Host,
                        Port = options.Port,
                        Loop = options.Loop,
                        StartAt = options.StartAt,
                        Faults = LlrpFaults.Parse(options.Faults),
                        Log = line => Console.Error.WriteLine(line),
                    }))
                    {
                        await emulator.StartAsync(stop.Token);
                        Console.Out.WriteLine($"listening llrp {options.Host}:{emulator.Port}");
                        await Console.Out.FlushAsync();
                        await WaitAsync(stop.Token);
                    }

                    return 0;
                case "r2000":
                    return await RunR2000Async(options, stop.Token);
                default:
                    Console.Error.WriteLine($"Unknown emulator '{args[0]}'.\n{Usage}");
                    return 2;
            }
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidDataException or IOException or System.Net.Sockets.SocketException)
        {
            Console.Error.WriteLine($"edgestream-emulator: {ex.Message}");
            return 1;
        }
    }

    private static async Task<int> RunR2000Async(CommandLine options, CancellationToken ct)
    {
        await using var emulator = new R2000Emulator(new R2000EmulatorOptions
        {
            Scenario = Scenario.Load(options.Scenario),
            PtyLink = options.PtyLink,
            Address = options.Address,
            Loop = options.Loop,
            Faults = R2000Faults.Parse(options.Faults),
            Log = line => Console.Error.WriteLine(line),
        });
        await emulator.StartAsync(ct);
        Console.Out.WriteLine($"listening r2000 {emulator.PtyName}");
        await Console.Out.FlushAsync(ct);
        await WaitAsync(ct);
        return 0;
    }

    private static async Task WaitAsync(CancellationToken ct)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, ct);
        }
        catch (OperationCanceledException)
        {
        }
    }
}

/// <summary>The emulator's command-line options.</summary>
internal sealed record CommandLine(string Scenario, string Host, int Port, bool Loop, IReadOnlyList<string> Faults, string? PtyLink, byte Address)
{
    /// <summary>The wall-clock instant the timeline starts at (<c>--start-at UNIX_MS</c>); null: at the first inventory.</summary>
    public DateTimeOffset? StartAt { get; init; }

    public static CommandLine Parse(string[] args)
    {
        string? scenario = null;
        var host = "127.0.0.1";
        var port = 0;
        var loop = false;
        string? ptyLink = null;
        byte address = 255;
        var faults = new List<string>();
        DateTimeOffset? startAt = null;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"Option '{args[i]}' needs a value.");
            switch (args[i])
            {
                case "--scenario": scenario = Value(); break;
                case "--host": host = Value(); break;
                case "--port":
                    var p = Value();
                    port = int.TryParse(p, out var n) && n is >= 0 and <= 65535 ? n : throw new ArgumentException($"--port '{p}' must be 0..65535.");
                    break;
                case "--loop": loop = true; break;
                case "--fault": faults.Add(Value()); break;
                case "--pty-link": ptyLink = Value(); break;
                case "--address":
                    var a = Value();
                    address = byte.TryParse(a, out var b) ? b : throw new ArgumentException($"--address '{a}' must be 0..255.");
                    break;
                case "--start-at":
                    var s = Value();
                    startAt = long.TryParse(s, out var ms) && ms > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : throw new ArgumentException($"--start-at '{s}' must be a Unix time in milliseconds.");
                    break;
                default: throw new ArgumentException($"Unknown option '{args[i]}'.");
            }
        }

        return new CommandLine(scenario ?? throw new ArgumentException("--scenario FILE is required."), host, port, loop, faults, ptyLink, address) { StartAt = startAt };
    }
}
