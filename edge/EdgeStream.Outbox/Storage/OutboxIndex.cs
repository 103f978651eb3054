using EdgeStream.Contracts;
using LiteDB;

namespace EdgeStream.Outbox.Storage;

/// <summary>
/// The outbox's index in LiteDB: one document per batch not yet acknowledged by the broker (where
/// it lives in the segment logs), how far each log has been indexed, and the next batch sequence.
/// It is rebuildable from the checksummed segment logs, which are the durable record: LiteDB 5
/// completes a commit before its disk writer has flushed, so the index may lag the logs after a
/// crash, and recovery re-indexes everything after the last indexed position.
/// </summary>
internal sealed class OutboxIndex : IDisposable
{
    public const string DataFile = "index.db";
    public const string LogFile = "index-log.db";

    /// <summary>
    /// Pages in LiteDB's write-ahead log before it is checkpointed into the data file. LiteDB keeps every
    /// log page in its page cache until the checkpoint and grows that cache in segments it never gives
    /// back: at its default of 1,000 pages the cache reached ~13.6 MB of heap within a minute at
    /// 50,000 reads/s (one transaction per group commit). At 50 pages it stays in its first ~1.3 MB.
    /// A checkpoint rewrites the few distinct index pages into the data file, so this costs a few KB of
    /// writes a second, small beside the segment logs.
    /// </summary>
    internal const int CheckpointPages = 50;

    private readonly GuardedStream _data;
    private readonly GuardedStream _log;
    private readonly LiteDatabase _db;
    private readonly ILiteCollection<BsonDocument> _batches;
    private readonly ILiteCollection<BsonDocument> _state;

    private OutboxIndex(Stream data, Stream log)
    {
        _data = new GuardedStream(data);
        _log = new GuardedStream(log);
        _db = new LiteDatabase(_data, new BsonMapper(), _log);
        _db.CheckpointSize = CheckpointPages;
        _batches = _db.GetCollection("batches", BsonAutoId.Int64);
        _state = _db.GetCollection("state", BsonAutoId.ObjectId);
    }

    /// <summary>True when the index could not be opened and was started afresh.</summary>
    public bool WasRebuilt { get; private init; }

    /// <summary>True once a write to the index files failed; this instance must be discarded and the index reopened.</summary>
    public bool Broken => _data.Failed || _log.Failed;

    /// <summary>The write error that broke the index.</summary>
    public Exception? Failure => _data.Failure ?? _log.Failure;

    /// <summary>Opens the index and loads it; a damaged index is deleted and rebuilt empty.</summary>
    public static OutboxIndex Open(IOutboxStorage storage, Action<string> warn, out List<RecordInfo> entries)
    {
        try
        {
            var index = new OutboxIndex(storage.OpenWrite(DataFile), storage.OpenWrite(LogFile));
            try
            {
                entries = index.Load();
                return index;
            }
            catch
            {
                index.Dispose();
                throw;
            }
        }
        catch (Exception ex) when (ex is LiteException or IOException or InvalidOperationException or InvalidCastException
            or ArgumentException or IndexOutOfRangeException or NullReferenceException or FormatException or OverflowException)
        {
            warn($"The outbox index could not be read ({ex.GetType().Name}: {ex.Message}); rebuilding it from the segment logs. Batches already acknowledged that are still in the logs will be sent again; the cloud drops them by sequence.");
            storage.Delete(DataFile);
            storage.Delete(LogFile);
            var index = new OutboxIndex(storage.OpenWrite(DataFile), storage.OpenWrite(LogFile)) { WasRebuilt = true };
            entries = index.Load();
            return index;
        }
    }

    private List<RecordInfo> Load()
    {
        var list = new List<RecordInfo>();
        foreach (var d in _batches.FindAll())
        {
            list.Add(new RecordInfo(
                (ulong)d["_id"].AsInt64,
                (DataClass)d["c"].AsInt32,
                (ulong)d["s"].AsInt64,
                d["o"].AsInt64,
                d["l"].AsInt32,
                d["n"].AsInt32,
                d["t"].AsInt64));
        }

        // Touch the state documents so a damaged state collection is found now, not mid-run.
        _ = _state.FindAll().Count();
        return list;
    }

    /// <summary>How far the log of <paramref name="dataClass"/> is indexed: (segment, offset after the last indexed record).</summary>
    public (ulong Segment, long Offset)? IndexedThrough(DataClass dataClass)
    {
        var d = _state.FindById(StateId(dataClass));
        return d is null ? null : ((ulong)d["s"].AsInt64, d["o"].AsInt64);
    }

    /// <summary>The next sequence recorded, or 0.</summary>
    public ulong NextSequence
    {
        get
        {
            var d = _state.FindById("seq");
            return d is null ? 0 : (ulong)d["next"].AsInt64;
        }
    }

    /// <summary>Applies one group commit's changes in one LiteDB transaction.</summary>
    public void Apply(
        IReadOnlyList<RecordInfo> added,
        IReadOnlyList<ulong> removed,
        IReadOnlyList<(DataClass Class, ulong Segment, long Offset)> indexedThrough,
        ulong nextSequence,
        bool replaceAll = false)
    {
        _db.BeginTrans();
        try
        {
            if (replaceAll)
            {
                _batches.DeleteAll();
            }

            foreach (var r in added)
            {
                _batches.Upsert(new BsonDocument
                {
                    ["_id"] = (long)r.Sequence,
                    ["c"] = (int)r.Class,
                    ["s"] = (long)r.SegmentId,
                    ["o"] = r.Offset,
                    ["l"] = r.Length,
                    ["n"] = r.Count,
                    ["t"] = r.CreatedUs,
                });
            }

            foreach (var seq in removed)
            {
                _batches.Delete((long)seq);
            }

            foreach (var (c, s, o) in indexedThrough)
            {
                _state.Upsert(new BsonDocument { ["_id"] = StateId(c), ["s"] = (long)s, ["o"] = o });
            }

            _state.Upsert(new BsonDocument { ["_id"] = "seq", ["next"] = (long)nextSequence });
            _db.Commit();
        }
        catch
        {
            _db.Rollback();
            throw;
        }

        if (Broken)
        {
            throw new IOException($"The outbox index could not be written: {Failure?.Message}", Failure);
        }
    }

    /// <summary>Replaces the whole index with <paramref name="live"/> (after the index was reopened from a frozen file).</summary>
    public void Rewrite(
        IReadOnlyList<RecordInfo> live,
        IReadOnlyList<(DataClass Class, ulong Segment, long Offset)> indexedThrough,
        ulong nextSequence)
    {
        // One transaction: a crash in between must not leave the state without its batches.
        Apply(live, [], indexedThrough, nextSequence, replaceAll: true);
    }

    private static string StateId(DataClass c) => c == DataClass.Reads ? "log-reads" : "log-presence";

    public void Dispose()
    {
        try
        {
            _db.Dispose();
        }
        finally
        {
            _data.Dispose();
            _log.Dispose();
        }
    }
}
