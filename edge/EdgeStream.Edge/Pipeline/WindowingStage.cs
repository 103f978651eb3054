using System.Buffers;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using EdgeStream.Contracts;
using EdgeStream.Outbox;
using EdgeStream.Windowing;

namespace EdgeStream.Edge.Pipeline;

/// <summary>
/// The read stage that runs edge windowing: every driver's reads go through one bounded channel to a
/// single thread that owns the <see cref="WindowingProcessor"/> (it is not thread-safe), and what it
/// emits goes to the outbox in two classes: presence events and reads (summaries, all or sampled).
/// A wall-clock tick lets tags depart when no reads arrive at all. Scans (barcode scanners, handhelds)
/// bypass windowing and go to the outbox as they are, with their operator and zone.
/// </summary>
/// <remarks>
/// A read counts as accepted when the outbox has committed what windowing made of it. Reads still
/// inside the reorder tolerance (≤ <c>ReorderToleranceMs</c>) when the process dies were never
/// accepted; a clean stop drains and flushes them.
/// </remarks>
public sealed partial class WindowingStage : IReadStage, IHostedService, IAsyncDisposable
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(200);

    private readonly Channel<Chunk> _input = Channel.CreateBounded<Chunk>(new BoundedChannelOptions(256)
    {
        FullMode = BoundedChannelFullMode.Wait, // drivers wait: backpressure down to the reader's socket
        SingleReader = true,
    });

    private readonly WindowingProcessor _processor;
    private readonly IOutboxWriter _outbox;
    private readonly TimeProvider _time;
    private readonly ILogger<WindowingStage> _logger;
    private readonly WindowOutputBuffer _buffer = new();
    private readonly CancellationTokenSource _abort = new();
    private PresenceEvent[] _events = new PresenceEvent[256];
    private TagRead[] _reads = new TagRead[1024];
    private Task? _loop;
    private volatile StrongBox<WindowingStats> _stats = new(default);
    private long _lastRejected;
    private int _disposed;

    /// <summary>Creates the stage; <paramref name="options"/> are validated by the processor.</summary>
    public WindowingStage(WindowingOptions options, IOutboxWriter outbox, TimeProvider time, OutboxMetrics metrics, ILogger<WindowingStage> logger)
    {
        _processor = new WindowingProcessor(options);
        _outbox = outbox;
        _time = time;
        _logger = logger;
        var meter = metrics.Meter;
        meter.CreateObservableCounter("edgestream_edge_window_reads_total", () => _stats.Value.ReadsIn, description: "Reads that entered windowing.");
        meter.CreateObservableCounter("edgestream_edge_window_late_reads_total", () => _stats.Value.ReadsLate, description: "Reads later than the reorder tolerance (still forwarded as reads).");
        meter.CreateObservableCounter("edgestream_edge_window_presence_events_total", () =>
        {
            var s = _stats.Value;
            return s.Arrivals + s.Moves + s.Departures;
        }, description: "Arrive, move and depart events emitted.");
        meter.CreateObservableGauge("edgestream_edge_window_present_tags", () => _stats.Value.PresentTags, description: "Tags currently in a zone.");
        meter.CreateObservableGauge("edgestream_edge_window_tracked_tags", () => _stats.Value.TrackedTags, description: "Tags with windowing state.");
    }

    /// <summary>
    /// How far behind the wall clock windowing may still emit an event: reads wait out the reorder
    /// tolerance, a zone is decided over the arbitration window and its hold-off, an observation closes
    /// after the dedupe interval, and the stage looks at the clock every 200 ms. Departures are stamped at
    /// their deadline, which is never behind the clock when they fire.
    /// </summary>
    public static long HoldbackUs(WindowingOptions options) =>
        (options.ReorderToleranceMs + options.Arbitration.WindowMs + options.Arbitration.HoldOffMs + options.DedupeIntervalMs + (long)Tick.TotalMilliseconds) * 1000L;

    /// <inheritdoc/>
    public async ValueTask ProcessAsync(ReadOnlyMemory<TagRead> reads, IOutboxWriter outbox, CancellationToken cancellationToken)
    {
        if (reads.IsEmpty)
        {
            return;
        }

        if (reads.Span[0].Source is SourceKind.Scanner or SourceKind.Handheld)
        {
            // A scan is a person's act, not a radio sighting: straight to the outbox with its operator and
            // zone, never windowed or summarised away (a scanner's batches hold only its own scans).
            await outbox.AppendReadsAsync(reads, cancellationToken).ConfigureAwait(false);
            return;
        }

        var array = ArrayPool<TagRead>.Shared.Rent(reads.Length);
        reads.Span.CopyTo(array);
        try
        {
            await _input.Writer.WriteAsync(new Chunk(array, reads.Length), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            ArrayPool<TagRead>.Shared.Return(array);
            throw;
        }
    }

    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(() => RunAsync(_abort.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Readers have stopped (they stop first); drain what they handed over, then flush windowing.
        _input.Writer.TryComplete();
        if (_loop is null)
        {
            return;
        }

        using var reg = cancellationToken.Register(_abort.Cancel);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            LogStopAborted();
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        // The container may dispose this twice (it is both the read stage and a hosted service).
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _input.Writer.TryComplete();
        await _abort.CancelAsync().ConfigureAwait(false);
        _abort.Dispose();
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var reader = _input.Reader;
        var nextTick = _time.GetUtcNow() + Tick;
        while (true)
        {
            var wait = nextTick - _time.GetUtcNow();
            var more = true;
            if (!reader.TryPeek(out _) && wait > TimeSpan.Zero)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(wait);
                try
                {
                    more = await reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    // tick
                }
            }

            while (reader.TryRead(out var chunk))
            {
                try
                {
                    _processor.OnReads(chunk.Array.AsSpan(0, chunk.Count), _buffer);
                }
                finally
                {
                    ArrayPool<TagRead>.Shared.Return(chunk.Array);
                }

                await DrainAsync(ct).ConfigureAwait(false);
            }

            if (_time.GetUtcNow() >= nextTick)
            {
                _processor.OnTick(EventTimes.NowUs(_time), _buffer);
                await DrainAsync(ct).ConfigureAwait(false);
                nextTick = _time.GetUtcNow() + Tick;
            }

            _stats = new StrongBox<WindowingStats>(_processor.Stats);
            if (!more || reader.Completion.IsCompleted)
            {
                break;
            }
        }

        _processor.Flush(_buffer);
        await DrainAsync(ct).ConfigureAwait(false);
        _stats = new StrongBox<WindowingStats>(_processor.Stats);
    }

    private async ValueTask DrainAsync(CancellationToken ct)
    {
        var rejected = _buffer.RejectedInvalid + _buffer.RejectedOverCapacity;
        if (rejected != _lastRejected)
        {
            LogRejected(rejected - _lastRejected, _buffer.RejectedInvalid, _buffer.RejectedOverCapacity);
            _lastRejected = rejected;
        }

        if (_buffer.Presence.Count > 0)
        {
            var n = Copy(_buffer.Presence, ref _events);
            await _outbox.AppendEventsAsync(_events.AsMemory(0, n), ct).ConfigureAwait(false);
        }

        if (_buffer.Reads.Count > 0)
        {
            var n = Copy(_buffer.Reads, ref _reads);
            await _outbox.AppendReadsAsync(_reads.AsMemory(0, n), ct).ConfigureAwait(false);
        }

        _buffer.Clear();
    }

    private static int Copy<T>(IReadOnlyList<T> source, ref T[] target)
    {
        if (target.Length < source.Count)
        {
            target = new T[Math.Max(source.Count, target.Length * 2)];
        }

        if (source is List<T> list)
        {
            CollectionsMarshal.AsSpan(list).CopyTo(target);
        }
        else
        {
            for (var i = 0; i < source.Count; i++)
            {
                target[i] = source[i];
            }
        }

        return source.Count;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Windowing refused {Count} reads (in total {Invalid} invalid, {OverCapacity} over the tag capacity; over-capacity reads are still forwarded).")]
    private partial void LogRejected(long count, long invalid, long overCapacity);

    [LoggerMessage(Level = LogLevel.Error, Message = "Stop timed out before windowing drained; reads inside the reorder tolerance were not flushed.")]
    private partial void LogStopAborted();

    private readonly record struct Chunk(TagRead[] Array, int Count);
}
