using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using EdgeStream.SerialProtocols.R2000;

namespace EdgeStream.Emulators;

/// <summary>Faults of the R2000 emulator, given as <c>--fault NAME=VALUE</c>.</summary>
public sealed record R2000Faults
{
    /// <summary>No faults.</summary>
    public static R2000Faults None { get; } = new();

    /// <summary><c>noise-every=N</c>: after every Nth frame, a burst of line noise (bytes that are never a frame head).</summary>
    public int? NoiseEveryFrames { get; init; }

    /// <summary><c>corrupt-every=N</c>: every Nth tag frame has a bad checksum.</summary>
    public int? CorruptEveryFrames { get; init; }

    /// <summary><c>stall-after=N</c>: after N rounds, answer nothing for <see cref="StallMs"/>.</summary>
    public int? StallAfterRounds { get; init; }

    /// <summary><c>stall-ms=MS</c>: how long a stall lasts (default 3000).</summary>
    public int StallMs { get; init; } = 3000;

    /// <summary>Parses <c>NAME=VALUE</c> fault specifications.</summary>
    /// <exception cref="ArgumentException">An unknown fault or a bad value.</exception>
    public static R2000Faults Parse(IEnumerable<string> specs)
    {
        var f = None;
        foreach (var spec in specs)
        {
            var parts = spec.Split('=', 2);
            var ok = parts.Length == 2 && int.TryParse(parts[1], out var n) && n >= 1;
            var value = ok ? int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) : 0;
            f = (parts[0], ok) switch
            {
                ("noise-every", true) => f with { NoiseEveryFrames = value },
                ("corrupt-every", true) => f with { CorruptEveryFrames = value },
                ("stall-after", true) => f with { StallAfterRounds = value },
                ("stall-ms", true) => f with { StallMs = value },
                _ => throw new ArgumentException($"Fault '{spec}' is not valid for r2000. Allowed: noise-every=N, corrupt-every=N, stall-after=N, stall-ms=MS."),
            };
        }

        return f;
    }
}

/// <summary>Options of an <see cref="R2000Emulator"/>.</summary>
public sealed record R2000EmulatorOptions
{
    /// <summary>The tag population and its movement.</summary>
    public required Scenario Scenario { get; init; }

    /// <summary>Where the client's end of the pseudo-terminal pair appears (a symlink); null: a temporary path.</summary>
    public string? PtyLink { get; init; }

    /// <summary>The module's address (answers carry it).</summary>
    public byte Address { get; init; } = 0x01;

    /// <summary>Repeat the scenario forever.</summary>
    public bool Loop { get; init; }

    /// <summary>Faults to inject.</summary>
    public R2000Faults Faults { get; init; } = R2000Faults.None;

    /// <summary>Where to write one line per notable event; null for silence.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>
/// An R2000-family module on a pseudo-terminal: <c>socat</c> makes a linked pair of ptys, the emulator
/// serves one end and the driver opens the other as a serial port. Answers set-work-antenna, real-time
/// inventory and fast antenna switching from the scenario, one inventory round per scenario tick.
/// </summary>
public sealed class R2000Emulator : IAsyncDisposable
{
    private readonly R2000EmulatorOptions _options;
    private readonly CancellationTokenSource _stop = new();
    private readonly Stopwatch _clock = new();
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "edgestream-r2000-" + Guid.NewGuid().ToString("N")[..12]);
    private Process? _socat;
    private FileStream? _device;
    private Task? _serve;
    private int _frames;
    private int _tagFrames;
    private long _rounds;

    /// <summary>Creates an emulator; call <see cref="StartAsync"/>.</summary>
    public R2000Emulator(R2000EmulatorOptions options) => _options = options;

    /// <summary>The path the driver opens (a symlink to the client's /dev/pts/N).</summary>
    public string DevicePath { get; private set; } = string.Empty;

    /// <summary>The pseudo-terminal the symlink points to.</summary>
    public string PtyName => File.ResolveLinkTarget(DevicePath, true)?.FullName ?? DevicePath;

    /// <summary>Inventory rounds answered.</summary>
    public long Rounds => Interlocked.Read(ref _rounds);

    /// <summary>Tag frames sent.</summary>
    public int TagFrames => Volatile.Read(ref _tagFrames);

    /// <summary>The last work antenna set (1-based).</summary>
    public int WorkAntenna { get; private set; } = 1;

    /// <summary>Starts socat, waits for both pty ends, and starts answering.</summary>
    /// <exception cref="IOException">socat is missing or did not create the ptys.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(_dir);
        var emulatorEnd = Path.Combine(_dir, "module");
        DevicePath = _options.PtyLink ?? Path.Combine(_dir, "client");
        var psi = new ProcessStartInfo("socat") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-d", "-d", $"pty,raw,echo=0,link={emulatorEnd}", $"pty,raw,echo=0,link={DevicePath}" })
        {
            psi.ArgumentList.Add(a);
        }

        try
        {
            _socat = Process.Start(psi) ?? throw new IOException("socat did not start.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new IOException("socat is required for the R2000 emulator (scripts/setup.sh installs it).", ex);
        }

        _socat.ErrorDataReceived += (_, _) => { };
        _socat.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(File.Exists(emulatorEnd) && File.Exists(DevicePath)))
        {
            if (_socat.HasExited || DateTime.UtcNow > deadline)
            {
                throw new IOException("socat did not create the pseudo-terminal pair.");
            }

            await Task.Delay(20, cancellationToken);
        }

        _device = new FileStream(emulatorEnd, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1, FileOptions.None);
        _serve = Task.Run(ServeAsync, CancellationToken.None);
    }

    /// <summary>Stops answering, kills socat and removes the links.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_socat is { HasExited: false })
        {
            _socat.Kill();
            await _socat.WaitForExitAsync();
        }

        _device?.Dispose();
        if (_serve is not null)
        {
            await _serve.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _socat?.Dispose();
        try
        {
            Directory.Delete(_dir, true);
        }
        catch (IOException)
        {
        }

        _stop.Dispose();
    }

    private async Task ServeAsync()
    {
        var reader = PipeReader.Create(_device!, new StreamPipeReaderOptions(leaveOpen: true));
        var frame = new byte[R2000Codec.MaxFrameLength];
        var stats = default(R2000StreamStats);
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var result = await reader.ReadAsync(_stop.Token);
                var buffer = result.Buffer;
                while (R2000Codec.TryReadFrame(ref buffer, frame, out var length, ref stats))
                {
                    await HandleAsync(frame.AsMemory(0, length));
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            _options.Log?.Invoke($"r2000: stopped: {ex.Message}");
        }
    }

    private async Task HandleAsync(ReadOnlyMemory<byte> bytes)
    {
        var command = bytes.Span[3];
        var data = bytes.Span[4..^1].ToArray();
        var a = _options.Address;
        switch (command)
        {
            case R2000Command.SetWorkAntenna:
                var ok = data.Length == 1 && data[0] < _options.Scenario.Antennas;
                if (ok)
                {
                    WorkAntenna = data[0] + 1;
                }

                await WriteAsync(R2000Codec.Frame(a, command, ok ? R2000Command.Success : (byte)0x41));
                break;
            case R2000Command.RealTimeInventory:
                await RoundAsync(command, [WorkAntenna]);
                break;
            case R2000Command.FastSwitchAntennaInventory when data.Length >= 10:
                var antennas = new List<int>();
                for (var slot = 0; slot < 4; slot++)
                {
                    if (data[slot * 2] <= 3)
                    {
                        antennas.Add(data[slot * 2] + 1);
                    }
                }

                await RoundAsync(command, antennas);
                break;
            default:
                await WriteAsync(R2000Codec.Frame(a, command, 0x11));
                break;
        }
    }

    private async Task RoundAsync(byte command, List<int> antennas)
    {
        var faults = _options.Faults;
        var round = Interlocked.Increment(ref _rounds);
        if (faults.StallAfterRounds is { } stall && round == stall + 1)
        {
            _options.Log?.Invoke($"r2000: fault: stalling for {faults.StallMs} ms");
            await Task.Delay(faults.StallMs, _stop.Token);
            return;
        }

        await Task.Delay(_options.Scenario.TickMs, _stop.Token);
        if (!_clock.IsRunning)
        {
            _clock.Start();
        }

        var reads = new List<ScenarioRead>();
        _options.Scenario.Sample(_clock.ElapsedMilliseconds, _options.Loop, reads);
        var output = new ArrayBufferWriter<byte>(1024);
        var buffer = new byte[R2000Codec.MaxFrameLength];
        var total = 0;
        foreach (var antenna in antennas)
        {
            if (antenna > _options.Scenario.Antennas)
            {
                Emit(output, R2000Codec.Frame(_options.Address, command, (byte)(antenna - 1), 0x22));
                continue;
            }

            foreach (var r in reads.Where(r => r.Antenna == antenna))
            {
                var n = R2000Codec.WriteTagFrame(buffer, _options.Address, command, (byte)antenna, (byte)(total % 50), r.Epc, (int)Math.Round(r.RssiDbm));
                var tagFrame = buffer.AsSpan(0, n).ToArray();
                if (faults.CorruptEveryFrames is { } every && (Interlocked.Increment(ref _tagFrames) % every) == 0)
                {
                    tagFrame[5] ^= 0x5A; // Inside the EPC: the checksum no longer matches.
                }
                else if (faults.CorruptEveryFrames is null)
                {
                    Interlocked.Increment(ref _tagFrames);
                }

                Emit(output, tagFrame);
                total++;
            }
        }

        var end = command == R2000Command.RealTimeInventory
            ? R2000Codec.Frame(_options.Address, command, (byte)(antennas[0] - 1), 0, (byte)total, (byte)(total >> 24), (byte)(total >> 16), (byte)(total >> 8), (byte)total)
            : R2000Codec.Frame(_options.Address, command, (byte)(total >> 16), (byte)(total >> 8), (byte)total, 0, 0, 0, (byte)_options.Scenario.TickMs);
        Emit(output, end);
        await WriteAsync(output.WrittenMemory);
    }

    private void Emit(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> frame)
    {
        output.Write(frame);
        if (_options.Faults.NoiseEveryFrames is { } every && (++_frames % every) == 0)
        {
            var noise = new byte[7];
            Random.Shared.NextBytes(noise);
            for (var i = 0; i < noise.Length; i++)
            {
                if (noise[i] == R2000Codec.Head)
                {
                    noise[i] = 0x55;
                }
            }

            output.Write(noise);
        }
    }

    private async Task WriteAsync(ReadOnlyMemory<byte> bytes)
    {
        await _device!.WriteAsync(bytes, _stop.Token);
        await _device.FlushAsync(_stop.Token);
    }
}
