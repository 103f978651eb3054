using System.Buffers;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using EdgeStream.Outbox.Storage;
using Microsoft.Extensions.Logging;

namespace EdgeStream.Outbox;

/// <summary>The write side: the bounded ingest queue and the one writer that group-commits it.</summary>
public sealed partial class Outbox
{
    private readonly TagRead[] _readBuffer;
    private readonly PresenceEvent[] _eventBuffer;
    private readonly List<RecordInfo> _groupReads = [];
    private readonly List<RecordInfo> _groupEvents = [];
    private int _readCount;
    private int _eventCount;
    private Exception? _failureSinceFlush;
    private bool _indexBroken;
    private long _lastIndexReopen;

    /// <summary>Most records in one queued item: bounds the queue's memory at capacity × this.</summary>
    public const int MaxItemRecords = 512;

    /// <inheritdoc/>
    public ValueTask AppendReadsAsync(ReadOnlyMemory<TagRead> reads, CancellationToken cancellationToken)
    {
        while (!reads.IsEmpty)
        {
            var n = Math.Min(reads.Length, MaxItemRecords);
            var copy = ArrayPool<TagRead>.Shared.Rent(n);
            reads.Span[..n].CopyTo(copy);
            var item = new IngestItem(copy, null, n, null);
            reads = reads[n..];
            if (!_ingest.Writer.TryWrite(item))
            {
                return reads.IsEmpty ? WriteSlowAsync(item, cancellationToken) : AppendRestAsync(item, reads, cancellationToken);
            }
        }

        return ValueTask.CompletedTask;
    }

    private async ValueTask AppendRestAsync(IngestItem item, ReadOnlyMemory<TagRead> rest, CancellationToken cancellationToken)
    {
        await WriteSlowAsync(item, cancellationToken).ConfigureAwait(false);
        await AppendReadsAsync(rest, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public ValueTask AppendEventsAsync(ReadOnlyMemory<PresenceEvent> events, CancellationToken cancellationToken)
    {
        if (events.IsEmpty)
        {
            return ValueTask.CompletedTask;
        }

        if (events.Length > MaxItemRecords)
        {
            return AppendEventsInChunksAsync(events, cancellationToken);
        }

        var copy = ArrayPool<PresenceEvent>.Shared.Rent(events.Length);
        events.Span.CopyTo(copy);
        var item = new IngestItem(null, copy, events.Length, null);
        return _ingest.Writer.TryWrite(item) ? ValueTask.CompletedTask : WriteSlowAsync(item, cancellationToken);
    }

    private async ValueTask AppendEventsInChunksAsync(ReadOnlyMemory<PresenceEvent> events, CancellationToken cancellationToken)
    {
        for (var i = 0; i < events.Length; i += MaxItemRecords)
        {
            await AppendEventsAsync(events.Slice(i, Math.Min(MaxItemRecords, events.Length - i)), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await _ingest.Writer.WriteAsync(new IngestItem(null, null, 0, done), cancellationToken).ConfigureAwait(false);
        await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask WriteSlowAsync(IngestItem item, CancellationToken cancellationToken)
    {
        try
        {
            await _ingest.Writer.WriteAsync(item, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Return(item);
            throw;
        }
    }

    private static void Return(IngestItem item)
    {
        if (item.Reads is not null)
        {
            ArrayPool<TagRead>.Shared.Return(item.Reads);
        }

        if (item.Events is not null)
        {
            ArrayPool<PresenceEvent>.Shared.Return(item.Events);
        }
    }

    private async Task WriterLoopAsync()
    {
        var reader = _ingest.Reader;
        var flushes = new List<TaskCompletionSource>();
        var open = true;
        while (open)
        {
            if (!reader.TryPeek(out _) && _acked.IsEmpty)
            {
                var more = reader.WaitToReadAsync().AsTask();
                var woken = _wake.WaitAsync(SweepInterval);
                await Task.WhenAny(more, woken).ConfigureAwait(false);
                Volatile.Write(ref _wakePending, 0);
                if (more.IsCompleted && !more.Result)
                {
                    open = false;
                }
            }

            // Gather one group: everything that arrives within the commit interval of the first
            // item, or until a flush is requested or the group holds a segment's worth of bytes.
            var started = _time.GetTimestamp();
            var forced = false;
            while (open && !forced)
            {
                while (reader.TryRead(out var item))
                {
                    if (item.Flush is not null)
                    {
                        flushes.Add(item.Flush);
                        forced = true;
                    }
                    else
                    {
                        Take(item);
                    }

                    if (_readsLog.PendingBytes + _presenceLog.PendingBytes >= _options.SegmentBytes / 2)
                    {
                        forced = true;
                    }

                    if (forced)
                    {
                        break;
                    }
                }

                if (forced || _readCount + _eventCount + _groupReads.Count + _groupEvents.Count == 0)
                {
                    break;
                }

                var left = _options.CommitInterval - _time.GetElapsedTime(started);
                if (left <= TimeSpan.Zero)
                {
                    break;
                }

                var more = reader.WaitToReadAsync().AsTask();
                await Task.WhenAny(more, Task.Delay(left, _time)).ConfigureAwait(false);
                if (more.IsCompleted && !more.Result)
                {
                    open = false;
                }
            }

            if (!open)
            {
                // Shutting down: commit what is left in the queue too.
                while (reader.TryRead(out var item))
                {
                    if (item.Flush is not null)
                    {
                        flushes.Add(item.Flush);
                    }
                    else
                    {
                        Take(item);
                    }
                }
            }

            try
            {
                Commit(flushes);
                if (_retention.Sweep(_nextSeq) || !_acked.IsEmpty)
                {
                    UpdateIndex();
                }
            }
            catch (Exception ex)
            {
                // The writer must outlive any storage failure: log it, report it on /healthz, go on.
                _lastError = ex.Message;
                _lastErrorIsIndex = false;
                _logger.LogError(ex, "Outbox writer: unexpected failure; continuing.");
                foreach (var f in flushes)
                {
                    f.TrySetException(ex);
                }

                flushes.Clear();
                _groupReads.Clear();
                _groupEvents.Clear();
                _readsLog.DiscardPending();
                _presenceLog.DiscardPending();
            }
        }
    }

    private void Take(IngestItem item)
    {
        try
        {
            if (item.Reads is not null)
            {
                var src = item.Reads.AsSpan(0, item.Count);
                while (!src.IsEmpty)
                {
                    var n = Math.Min(src.Length, _readBuffer.Length - _readCount);
                    src[..n].CopyTo(_readBuffer.AsSpan(_readCount));
                    _readCount += n;
                    src = src[n..];
                    if (_readCount == _readBuffer.Length)
                    {
                        SealReads();
                    }
                }
            }
            else if (item.Events is not null)
            {
                var src = item.Events.AsSpan(0, item.Count);
                while (!src.IsEmpty)
                {
                    var n = Math.Min(src.Length, _eventBuffer.Length - _eventCount);
                    src[..n].CopyTo(_eventBuffer.AsSpan(_eventCount));
                    _eventCount += n;
                    src = src[n..];
                    if (_eventCount == _eventBuffer.Length)
                    {
                        SealEvents();
                    }
                }
            }
        }
        finally
        {
            Return(item);
        }
    }

    private void SealReads()
    {
        if (_readCount == 0)
        {
            return;
        }

        var count = _readCount;
        try
        {
            Seal(_readsLog, _groupReads, new Batch
            {
                GatewayId = _options.GatewayId,
                Sequence = _nextSeq,
                Class = DataClass.Reads,
                CreatedUs = EventTimes.NowUs(_time),
                Reads = new ArraySegment<TagRead>(_readBuffer, 0, count),
            });
        }
        finally
        {
            Array.Clear(_readBuffer, 0, count);
            _readCount = 0;
        }
    }

    private void SealEvents()
    {
        if (_eventCount == 0)
        {
            return;
        }

        var count = _eventCount;
        try
        {
            Seal(_presenceLog, _groupEvents, new Batch
            {
                GatewayId = _options.GatewayId,
                Sequence = _nextSeq,
                Class = DataClass.Presence,
                CreatedUs = EventTimes.NowUs(_time),
                Events = new ArraySegment<PresenceEvent>(_eventBuffer, 0, count),
            });
        }
        finally
        {
            Array.Clear(_eventBuffer, 0, count);
            _eventCount = 0;
        }
    }

    /// <summary>Appends the buffered records of one class, numbered as <paramref name="batch"/> (the next sequence), to that class's segment log.</summary>
    private void Seal(SegmentLog log, List<RecordInfo> group, Batch batch)
    {
        try
        {
            // The sequence is used up even if the append fails: bytes of a failed write may still
            // reach the disk, and two records must never share a sequence.
            Interlocked.Increment(ref _nextSeq);
            group.Add(log.Append(batch.Sequence, batch.CreatedUs, batch.Count, w => BatchCodec.Encode(batch, w)));
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            // A record the wire format cannot carry (e.g. an over-long reader id) must not block the others.
            Reject(batch.Class, batch.Count, "invalid", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A segment roll wrote and failed: the whole group is not accepted.
            Reject(batch.Class, batch.Count, "write_error", ex);
        }
    }

    private void Commit(List<TaskCompletionSource> flushes)
    {
        SealReads();
        SealEvents();
        Exception? failure = null;
        var readsOk = CommitClass(_readsLog, _groupReads, ref failure);
        var eventsOk = CommitClass(_presenceLog, _groupEvents, ref failure);

        long reads = 0, events = 0;
        if (readsOk || eventsOk)
        {
            lock (_gate)
            {
                if (readsOk)
                {
                    foreach (var r in _groupReads)
                    {
                        _readsQueue.Add(r);
                        reads += r.Count;
                    }
                }

                if (eventsOk)
                {
                    foreach (var r in _groupEvents)
                    {
                        _presenceQueue.Add(r);
                        events += r.Count;
                    }
                }
            }

            if (readsOk)
            {
                _unindexed.AddRange(_groupReads);
            }

            if (eventsOk)
            {
                _unindexed.AddRange(_groupEvents);
            }
        }

        _groupReads.Clear();
        _groupEvents.Clear();
        if (reads > 0)
        {
            Interlocked.Add(ref _acceptedReads, reads);
            _metrics?.Accepted(DataClass.Reads, reads);
        }

        if (events > 0)
        {
            Interlocked.Add(ref _acceptedEvents, events);
            _metrics?.Accepted(DataClass.Presence, events);
        }

        if (failure is null && _lastError is not null && (reads > 0 || events > 0))
        {
            _logger.LogInformation("Outbox writes succeed again after: {Error}", _lastError);
            _lastError = null;
        }

        UpdateIndex();
        if (reads > 0 || events > 0)
        {
            SignalChanged();
        }

        _failureSinceFlush ??= failure;
        if (flushes.Count == 0)
        {
            return;
        }

        // A flush succeeds only when no commit since the previous flush failed: the reads appended
        // before it may have been in any of those groups.
        failure = _failureSinceFlush;
        _failureSinceFlush = null;
        foreach (var f in flushes)
        {
            if (failure is null)
            {
                f.TrySetResult();
            }
            else
            {
                f.TrySetException(new IOException($"The outbox could not write to disk: {failure.Message}", failure));
            }
        }

        flushes.Clear();
    }

    private bool CommitClass(SegmentLog log, List<RecordInfo> group, ref Exception? failure)
    {
        if (group.Count == 0)
        {
            // A failed append already rejected (and reported) its batch; nothing else to write.
            log.DiscardPending();
            return false;
        }

        try
        {
            log.Commit();
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException or NotSupportedException)
        {
            failure ??= ex;
            var n = group.Sum(r => (long)r.Count);
            Reject(log.Class, n, "write_error", ex);
            return false;
        }
    }

    private void Reject(DataClass c, long n, string reason, Exception ex)
    {
        _lastError = ex.Message;
        _lastErrorIsIndex = false;
        _failureSinceFlush ??= ex;
        if (reason == "write_error")
        {
            _metrics?.CommitFailed();
        }

        CountDropped(c, n, reason);
        _logger.LogError(
            "Outbox: {Count} {Class} not accepted ({Reason}): {Error}. They are counted in edgestream_edge_dropped_total; accepted data is unaffected and the writer keeps running.",
            n, OutboxMetrics.ClassLabel(c), reason, ex.Message);
    }

    private void CountDropped(DataClass c, long n, string reason)
    {
        if (n <= 0)
        {
            return;
        }

        if (c == DataClass.Reads)
        {
            Interlocked.Add(ref _droppedReads, n);
        }
        else
        {
            Interlocked.Add(ref _droppedEvents, n);
        }

        _metrics?.Dropped(c, reason, n);
    }

    private void UpdateIndex()
    {
        while (_acked.TryDequeue(out var seq))
        {
            _unindexedRemovals.Add(seq);
        }

        if (_index.Broken || _indexBroken)
        {
            ReopenIndex();
            return;
        }

        if (_unindexed.Count == 0 && _unindexedRemovals.Count == 0)
        {
            return;
        }

        try
        {
            _index.Apply(_unindexed, _unindexedRemovals, IndexedThrough(), _nextSeq);
            _unindexed.Clear();
            _unindexedRemovals.Clear();
        }
        catch (Exception ex)
        {
            // The segment logs already hold the data: the index is reopened and rewritten from
            // memory, and recovery re-indexes from the last position the index recorded. The data
            // write that got here succeeded, so the disk takes writes again: try at once.
            _indexBroken = true;
            _lastError = ex.Message;
            _lastErrorIsIndex = true;
            _logger.LogWarning("Outbox index update failed ({Error}); it will be reopened and rewritten.", ex.Message);
            ReopenIndex(force: true);
        }
    }

    private void ReopenIndex(bool force = false)
    {
        var now = _time.GetTimestamp();
        if (!force && _lastIndexReopen != 0 && _time.GetElapsedTime(_lastIndexReopen, now) < IndexReopenInterval)
        {
            return;
        }

        _lastIndexReopen = now;
        try
        {
            _index.Dispose();
        }
        catch (Exception)
        {
            // The instance is being thrown away; its files are as the last good write left them.
        }

        try
        {
            _index = OutboxIndex.Open(_storage, m => _logger.LogWarning("Outbox index: {Message}", m), out _);
            List<RecordInfo> live;
            lock (_gate)
            {
                live = [.. _readsQueue.All(), .. _presenceQueue.All()];
            }

            _index.Rewrite(live, IndexedThrough(), _nextSeq);
            _unindexed.Clear();
            _unindexedRemovals.Clear();
            _indexBroken = false;
            if (_lastErrorIsIndex)
            {
                _lastError = null;
                _lastErrorIsIndex = false;
            }

            _logger.LogInformation("Outbox index reopened and rewritten ({Batches} batches waiting).", live.Count);
        }
        catch (Exception ex)
        {
            _indexBroken = true;
            _lastError = ex.Message;
            _lastErrorIsIndex = true;
            _logger.LogWarning("Outbox index could not be reopened yet ({Error}); retrying in {Interval}.", ex.Message, IndexReopenInterval);
        }
    }
}
