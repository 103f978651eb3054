using EdgeStream.Contracts;

namespace EdgeStream.Tracking.Storage;

/// <summary>
/// People's events (overrides, scans, corrections, actions) as they were accepted, before and after they
/// reach the event log: the transactional outbox between the API and the log. An event is accepted once
/// it is here; a relay appends what is not yet appended, so a crash between accepting and appending
/// loses nothing. Thread-safe.
/// </summary>
public interface IManualEventStore
{
    /// <summary>
    /// Keeps a new event, or finds the one already kept under its client id (<c>Created</c> false): the
    /// caller compares the two, since a client id names one event.
    /// </summary>
    Task<(ManualRecord Record, bool Created)> RecordManualAsync(ManualInput input, CancellationToken cancellationToken);

    /// <summary>Events not appended to the log yet, oldest first.</summary>
    Task<IReadOnlyList<ManualRecord>> PendingManualAsync(int limit, CancellationToken cancellationToken);

    /// <summary>Marks events appended to the log.</summary>
    Task MarkManualAppendedAsync(IReadOnlyList<long> sequences, CancellationToken cancellationToken);

    /// <summary>Kept events, newest first, for one asset or all, a page at a time.</summary>
    Task<Page<ManualRecord>> ListManualAsync(string? assetId, int limit, string? cursor, CancellationToken cancellationToken);
}

/// <summary>A person's event as the API accepted it: the tag it is for (the asset's tag then), and its times in µs.</summary>
public sealed record ManualInput(string ClientId, string? AssetId, string Epc, ManualKind Kind, string? Zone, string? Action, long UntilUs, string By, string? Reason, long EventUs, long ReceivedUs);

/// <summary>A kept manual event: its sequence is its number in the log (<see cref="ManualEvent.Source"/>/sequence/0).</summary>
public sealed record ManualRecord(long Sequence, ManualInput Event, bool Appended)
{
    /// <summary>The event as the log carries it.</summary>
    public ManualEvent ToLogEvent() => new()
    {
        Epc = EdgeStream.Contracts.Epc.ParseHex(Event.Epc),
        Kind = Event.Kind,
        EventTimeUs = Event.EventUs,
        Zone = Event.Zone,
        Action = Event.Action,
        UntilUs = Event.UntilUs,
        By = Event.By,
        Reason = Event.Reason,
        ClientId = Event.ClientId,
    };
}
