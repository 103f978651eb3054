using EdgeStream.Edge.Configuration;
using EdgeStream.Edge.Hosting;

// edgestream-edge: the EdgeStream edge daemon.
//   edgestream-edge run --gateway-id ID --reader URI [--reader URI…] --broker mqtt[s]://[user:pass@]host:port
//                       [--data-dir DIR] [--http 127.0.0.1:PORT] [--config FILE] [more keys: --help]
//   edgestream-edge tap <reader-uri> [--limit N] [--timeout SECONDS]
if (args.Length > 0 && args[0] == "run")
{
    return await EdgeHost.RunAsync(args[1..], Console.Out, Console.Error);
}

if (args.Length > 0 && args[0] == "tap")
{
    using var stop = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        stop.Cancel();
    };
    using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx =>
    {
        ctx.Cancel = true;
        stop.Cancel();
    });
    return await EdgeStream.Readers.TapCommand.RunAsync(args[1..], Console.Out, Console.Error, stop.Token);
}

var usage = Console.Out;
var code = 0;
if (args.Length == 0 || args[0] is not ("help" or "--help" or "-h"))
{
    usage = Console.Error;
    code = 2;
    if (args.Length > 0)
    {
        await usage.WriteLineAsync($"edgestream-edge: unknown command '{args[0]}'.");
    }
}

await usage.WriteLineAsync("usage: edgestream-edge run --gateway-id ID --reader URI [--reader URI...] --broker mqtt[s]://[user:pass@]host:port [--data-dir DIR] [--http 127.0.0.1:PORT]");
await usage.WriteLineAsync("       edgestream-edge tap <reader-uri> [--limit N] [--timeout SECONDS]   (one JSON object per read on stdout)");
await usage.WriteLineAsync();
await usage.WriteLineAsync($"Every key is also read from a JSON config file (--config FILE) and from environment variables ({EdgeConfiguration.EnvPrefix}KEY_NAME); the command line wins, then the environment, then the file.");
await usage.WriteLineAsync();
foreach (var (key, help) in EdgeConfiguration.Keys)
{
    await usage.WriteLineAsync($"  --{key,-32} {help}");
}

return code;
