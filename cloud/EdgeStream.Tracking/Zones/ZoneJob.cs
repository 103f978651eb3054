using System.Collections.Immutable;
using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using EdgeStream.Engine;
using EdgeStream.Engine.Io;
using EdgeStream.Engine.State;
using EdgeStream.Rules.Definitions;
using EdgeStream.Rules.Rules;
using EdgeStream.Rules.Workflows;
using EdgeStream.Tracking.Storage;

namespace EdgeStream.Tracking.Zones;

/// <summary>A tag entering or leaving a zone, as the tracking job placed it: the zone stage's input, keyed by zone.</summary>
public readonly record struct ZoneEvent
{
    /// <summary>The zone (the key).</summary>
    public required string Zone { get; init; }

    /// <summary>The tag.</summary>
    public required Epc Epc { get; init; }

    /// <summary>True when the tag entered the zone, false when it left.</summary>
    public required bool Entered { get; init; }

    /// <summary>Event time of the placement.</summary>
    public required long TimeUs { get; init; }

    /// <summary>The gateway of the deciding event.</summary>
    public required string Gateway { get; init; }

    /// <summary>Its stable hash (the watermark's source).</summary>
    public required ulong Source { get; init; }

    /// <summary>The deciding event's batch sequence.</summary>
    public ulong Sequence { get; init; }

    /// <summary>The record's index (twice the deciding event's, plus one for the entering half of a move).</summary>
    public int Index { get; init; }
}

/// <summary>One tag the zone has seen: in it now, or gone since <see cref="SinceUs"/> (kept for a while, so that a replayed older entry is not taken for a new one).</summary>
/// <param name="Present">In the zone now.</param>
/// <param name="SinceUs">When it entered or left.</param>
/// <param name="Profile">The asset's type and attributes when it entered (null: unregistered).</param>
public sealed record ZoneMember(bool Present, long SinceUs, AssetProfile? Profile);

/// <summary>A zone's state: who is in it, how many each zone-wide rule counts, and which rules' alerts are open.</summary>
public struct ZoneState
{
    /// <summary>The tags in the zone, and those that left it recently (immutable: snapshots share it).</summary>
    public ImmutableDictionary<Epc, ZoneMember>? Members;

    /// <summary>How many of <see cref="Members"/> are present.</summary>
    public int Present;

    /// <summary>The count of each zone-wide rule version (<c>id@version</c>) that watches the zone.</summary>
    public ImmutableDictionary<string, int>? Counts;

    /// <summary>The rules whose alert is open for the zone.</summary>
    public ImmutableSortedSet<string>? Open;
}

/// <summary>What the zone stage emits: a zone alert's step, or a peer's entering told to a tag in the zone.</summary>
public readonly record struct ZoneOutput
{
    /// <summary>Event time.</summary>
    public required long TimeUs { get; init; }

    /// <summary>A zone-wide rule's alert opened or cleared (the zone is the output's key).</summary>
    public WorkflowStep? Step { get; init; }

    /// <summary>For a peer output, the tag whose workflow waits for it.</summary>
    public Epc Target { get; init; }

    /// <summary>For a peer output, the type of the asset that entered.</summary>
    public string? PeerType { get; init; }

    /// <summary>For a peer output, the tag that entered.</summary>
    public Epc Peer { get; init; }
}

/// <summary>
/// The zone stage: state keyed by zone, fed by the tracking job's placements through a log of their
/// own (each move is a leave of one zone and an entry into another). It counts who is in each zone,
/// runs the zone-wide rules (<c>occupancy</c> above the capacity, <c>count</c> of a type above N) with
/// one open alert per rule and zone, and tells the tags already in a zone when an asset enters that
/// their workflow waits for (<c>peerEnters</c>), which reaches them as a manual event of kind
/// <see cref="ManualKind.Peer"/> in the tracking log.
/// </summary>
/// <remarks>
/// The feed is at least once: after a crash of the tracking job its placements since the last checkpoint
/// come again. Membership is therefore idempotent: each tag's last entry or exit is kept with its time,
/// and an older one changes nothing, so counts stay right whatever is delivered twice and in whatever
/// order. Rules are evaluated at each change of the zone's members, at the change's event time, with the
/// version in force then.
/// </remarks>
public sealed class ZoneJob : StreamJob<ZoneEvent, string, ZoneState, ZoneOutput>
{
    /// <summary>How long a tag that left is remembered, in event time, before it may be forgotten.</summary>
    public const long ForgetAfterUs = 3_600_000_000;

    private readonly Func<RuleCatalog?> _rules;
    private readonly Func<WorkflowCatalog?> _workflows;
    private readonly Func<Epc, AssetProfile?> _profileOf;
    private readonly Func<string, int?> _capacityOf;

    /// <summary>Creates the job over the service's lookups (read at each event, so swaps apply at once).</summary>
    /// <param name="rules">The rules in force (their zone-wide ones run here).</param>
    /// <param name="workflows">The workflows in force (for <c>peerEnters</c>).</param>
    /// <param name="profileOf">A tag's asset type and attributes (null: unregistered).</param>
    /// <param name="capacityOf">A zone's capacity (null: none).</param>
    public ZoneJob(Func<RuleCatalog?> rules, Func<WorkflowCatalog?> workflows, Func<Epc, AssetProfile?> profileOf, Func<string, int?> capacityOf)
    {
        _rules = rules;
        _workflows = workflows;
        _profileOf = profileOf;
        _capacityOf = capacityOf;
    }

    /// <summary>The id of the source that peer events carry in the tracking log (not a valid gateway id).</summary>
    public const string PeerSource = "@zones";

    /// <inheritdoc />
    public override bool TryDecode(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, out ZoneEvent evt, out string? error)
    {
        LogEntry entry;
        try
        {
            entry = LogRecordCodec.Decode(value);
        }
        catch (WireFormatException ex)
        {
            evt = default;
            error = ex.Message;
            return false;
        }

        if (entry.Class != DataClass.Presence || string.IsNullOrEmpty(entry.Presence.Zone))
        {
            evt = default;
            error = "a zone record is a presence event that names its zone";
            return false;
        }

        evt = new ZoneEvent
        {
            Zone = entry.Presence.Zone,
            Epc = entry.Epc,
            Entered = entry.Presence.Kind != PresenceKind.Depart,
            TimeUs = entry.EventTimeUs,
            Gateway = entry.GatewayId,
            Source = StableHash.Hash(entry.GatewayId),
            Sequence = entry.Sequence,
            Index = entry.Index,
        };
        error = null;
        return true;
    }

    /// <summary>Encodes one half of a placement for the zone log: <paramref name="epc"/> entered or left <paramref name="zone"/>.</summary>
    public static byte[] Encode(string zone, in Epc epc, bool entered, long timeUs, string gateway, ulong sequence, int index)
    {
        // On the tracking job's thread, for every move: encoded on the stack, one array of the record's size.
        Span<byte> buffer = stackalloc byte[LogRecordCodec.MaxEncodedBytes];
        var presence = new PresenceEvent { Epc = epc, Kind = entered ? PresenceKind.Arrive : PresenceKind.Depart, Zone = zone, EventTimeUs = timeUs };
        var n = LogRecordCodec.EncodePresence(gateway, sequence, index, index + 1, presence, buffer);
        return buffer[..n].ToArray();
    }

    /// <inheritdoc />
    public override string KeyOf(in ZoneEvent evt) => evt.Zone;

    /// <inheritdoc />
    public override ulong HashKey(in string key) => StableHash.Hash(key);

    /// <inheritdoc />
    public override long EventTimeOf(in ZoneEvent evt) => evt.TimeUs;

    /// <inheritdoc />
    public override ulong SourceOf(in ZoneEvent evt) => evt.Source;

    /// <inheritdoc />
    public override int CompareSameTime(in ZoneEvent a, in ZoneEvent b)
    {
        // Leaving before entering at one instant; then the deciding event's identity. Equal on all is the
        // same half of the same placement delivered twice.
        var c = a.Entered.CompareTo(b.Entered);
        if (c != 0)
        {
            return c;
        }

        c = a.Source.CompareTo(b.Source);
        if (c != 0)
        {
            return c;
        }

        c = a.Sequence.CompareTo(b.Sequence);
        if (c != 0)
        {
            return c;
        }

        c = a.Index.CompareTo(b.Index);
        return c != 0 ? c : a.Epc.CompareTo(b.Epc);
    }

    /// <inheritdoc />
    public override void OnEvent(in ZoneEvent evt, ref ZoneState state, KeyedContext<string, ZoneOutput> context)
    {
        var members = state.Members ?? ImmutableDictionary<Epc, ZoneMember>.Empty;
        var known = members.GetValueOrDefault(evt.Epc);
        if (known is not null && known.SinceUs > evt.TimeUs)
        {
            return; // older than what the zone knows of the tag: a replay, or a late copy
        }

        var t = evt.TimeUs;
        ZoneMember? counted = null; // the member whose arrival (+1) or departure (-1) the counts take
        var delta = 0;
        if (evt.Entered)
        {
            var profile = known is { Present: true } ? known.Profile : _profileOf(evt.Epc);
            members = members.SetItem(evt.Epc, new ZoneMember(true, t, profile));
            if (known is not { Present: true })
            {
                state.Present++;
                (counted, delta) = (members[evt.Epc], 1);
            }
        }
        else
        {
            members = members.SetItem(evt.Epc, new ZoneMember(false, t, known?.Profile));
            if (known is { Present: true })
            {
                state.Present--;
                (counted, delta) = (known, -1);
            }
        }

        members = Forget(members, state.Present, context.Watermark);
        state.Members = members;
        if (delta == 0)
        {
            return;
        }

        Evaluate(evt.Zone, ref state, counted!, delta, t, context);
        if (delta > 0 && counted!.Profile?.Type is { } type)
        {
            TellPeers(evt, type, members, context);
        }
    }

    /// <summary>Counts the change for each zone-wide rule watching the zone, and opens or clears its alert.</summary>
    private void Evaluate(string zone, ref ZoneState state, ZoneMember changed, int delta, long t, KeyedContext<string, ZoneOutput> context)
    {
        var catalog = _rules();
        var before = state.Counts ?? ImmutableDictionary<string, int>.Empty;
        var counts = ImmutableDictionary.CreateBuilder<string, int>(StringComparer.Ordinal);
        var open = state.Open ?? ImmutableSortedSet<string>.Empty;
        var watching = new HashSet<string>(StringComparer.Ordinal);
        foreach (var versions in catalog?.ZoneWide ?? [])
        {
            var version = RuleCatalog.At(versions, t);
            var rule = version.Definition;
            if (!rule.Enabled || !version.Machine.ZoneWide || !version.Machine.Covers(zone))
            {
                continue;
            }

            watching.Add(rule.Id);
            var key = rule.Id + "@" + rule.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var count = before.TryGetValue(key, out var c)
                ? c + (Watched(rule, changed.Profile) ? delta : 0)
                : Count(rule, state.Members!); // a rule or version new to the zone: count once
            counts[key] = count;
            var isOpen = open.Contains(rule.Id);
            if (version.Machine.LimitIn(_capacityOf(zone)) is { } limit && count > limit)
            {
                if (!isOpen && version.Machine.MayFire(t, zone))
                {
                    open = open.Add(rule.Id);
                    Alert(context, t, rule.Id, rule.Version, new AlertRaised(rule.Id, zone, rule.Severity, version.Machine.ZoneAlertText(zone, count, limit), t));
                }
            }
            else if (isOpen)
            {
                open = open.Remove(rule.Id);
                Alert(context, t, rule.Id, rule.Version, new AlertCleared(rule.Id, zone, t, $"{count} in {zone}, within the limit again"));
            }
        }

        foreach (var id in open.Where(id => !watching.Contains(id)).ToList())
        {
            // Removed, or changed so that it no longer watches this zone: its alert ends.
            open = open.Remove(id);
            Alert(context, t, id, catalog?.ForId(id, t)?.Definition.Version ?? 0, new AlertCleared(id, zone, t, "the rule no longer watches " + zone));
        }

        state.Counts = counts.Count == 0 ? null : counts.ToImmutable();
        state.Open = open.IsEmpty ? null : open;
    }

    private static void Alert(KeyedContext<string, ZoneOutput> context, long t, string ruleId, int version, WorkflowOutput what) =>
        context.Emit(new ZoneOutput { TimeUs = t, Step = new WorkflowStep(ruleId, version, what) { Rule = true } });

    private static bool Watched(RuleDefinition rule, AssetProfile? profile) =>
        rule.Assets.Type is null && rule.Assets.Attributes.Count == 0
            || (profile is not null && rule.Assets.Matches(profile.Type, profile.Attributes));

    private static int Count(RuleDefinition rule, ImmutableDictionary<Epc, ZoneMember> members) =>
        members.Values.Count(m => m.Present && Watched(rule, m.Profile));

    /// <summary>Tells each tag in the zone whose workflow waits for <paramref name="type"/> entering that one did.</summary>
    private void TellPeers(in ZoneEvent evt, string type, ImmutableDictionary<Epc, ZoneMember> members, KeyedContext<string, ZoneOutput> context)
    {
        if (_workflows() is not { } workflows || !workflows.AnyWatches(type))
        {
            return;
        }

        foreach (var (epc, m) in members.OrderBy(kv => kv.Key))
        {
            if (m.Present && !epc.Equals(evt.Epc) && m.Profile?.Type is { } own && workflows.WatchesPeer(own, type, evt.TimeUs))
            {
                context.Emit(new ZoneOutput { TimeUs = evt.TimeUs, Target = epc, PeerType = type, Peer = evt.Epc });
            }
        }
    }

    /// <summary>Drops tags that left long ago (older than <see cref="ForgetAfterUs"/> behind the watermark), once they outnumber those present.</summary>
    private static ImmutableDictionary<Epc, ZoneMember> Forget(ImmutableDictionary<Epc, ZoneMember> members, int present, long watermark)
    {
        if (members.Count - present <= present + 256 || watermark == long.MinValue)
        {
            return members;
        }

        var before = watermark - ForgetAfterUs;
        return members.RemoveRange(members.Where(kv => !kv.Value.Present && kv.Value.SinceUs < before).Select(kv => kv.Key).ToList());
    }

    /// <inheritdoc />
    public override void WriteKey(SnapshotWriter writer, in string key) => writer.WriteString(key);

    /// <inheritdoc />
    public override string ReadKey(ref SnapshotReader reader) => reader.ReadString();

    /// <inheritdoc />
    public override void WriteState(SnapshotWriter writer, in ZoneState state)
    {
        var members = state.Members ?? ImmutableDictionary<Epc, ZoneMember>.Empty;
        writer.WriteInt32(members.Count);
        foreach (var (epc, m) in members)
        {
            TrackingJob.WriteEpc(writer, epc);
            writer.WriteByte((byte)((m.Present ? 1 : 0) | (m.Profile is null ? 0 : 2) | (m.Profile?.Type is null ? 0 : 4)));
            writer.WriteInt64(m.SinceUs);
            if (m.Profile is { } p)
            {
                if (p.Type is { } type)
                {
                    writer.WriteString(type);
                }

                writer.WriteInt32(p.Attributes.Count);
                foreach (var (k, v) in p.Attributes)
                {
                    writer.WriteString(k);
                    writer.WriteString(v);
                }
            }
        }

        var counts = state.Counts ?? ImmutableDictionary<string, int>.Empty;
        writer.WriteInt32(counts.Count);
        foreach (var (k, v) in counts)
        {
            writer.WriteString(k);
            writer.WriteInt32(v);
        }

        var open = state.Open ?? ImmutableSortedSet<string>.Empty;
        writer.WriteInt32(open.Count);
        foreach (var id in open)
        {
            writer.WriteString(id);
        }
    }

    /// <inheritdoc />
    public override ZoneState ReadState(ref SnapshotReader reader)
    {
        var n = reader.ReadCount(10_000_000, "zone members");
        var members = ImmutableDictionary.CreateBuilder<Epc, ZoneMember>();
        var present = 0;
        for (var i = 0; i < n; i++)
        {
            var epc = TrackingJob.ReadEpc(ref reader);
            var flags = reader.ReadByte();
            if (flags > 7)
            {
                throw new CheckpointFormatException($"Checkpoint holds zone member flags {flags}, which this build does not know.");
            }

            var since = reader.ReadInt64();
            AssetProfile? profile = null;
            if ((flags & 2) != 0)
            {
                var type = (flags & 4) != 0 ? reader.ReadString() : null;
                var count = reader.ReadCount(10_000, "asset attributes");
                var attributes = new Dictionary<string, string>(count, StringComparer.Ordinal);
                for (var a = 0; a < count; a++)
                {
                    attributes[reader.ReadString()] = reader.ReadString();
                }

                profile = new AssetProfile(type, attributes);
            }

            members[epc] = new ZoneMember((flags & 1) != 0, since, profile);
            present += (flags & 1) != 0 ? 1 : 0;
        }

        var counts = ImmutableDictionary.CreateBuilder<string, int>(StringComparer.Ordinal);
        for (int i = 0, c = reader.ReadCount(100_000, "zone rule counts"); i < c; i++)
        {
            counts[reader.ReadString()] = reader.ReadInt32();
        }

        var open = ImmutableSortedSet.CreateBuilder<string>(StringComparer.Ordinal);
        for (int i = 0, c = reader.ReadCount(100_000, "open zone alerts"); i < c; i++)
        {
            open.Add(reader.ReadString());
        }

        return new ZoneState
        {
            Members = members.ToImmutable(),
            Present = present,
            Counts = counts.Count == 0 ? null : counts.ToImmutable(),
            Open = open.Count == 0 ? null : open.ToImmutable(),
        };
    }

    /// <inheritdoc />
    public override void WriteEvent(SnapshotWriter writer, in ZoneEvent evt)
    {
        writer.WriteString(evt.Zone);
        TrackingJob.WriteEpc(writer, evt.Epc);
        writer.WriteByte(evt.Entered ? (byte)1 : (byte)0);
        writer.WriteInt64(evt.TimeUs);
        writer.WriteString(evt.Gateway);
        writer.WriteUInt64(evt.Sequence);
        writer.WriteInt32(evt.Index);
    }

    /// <inheritdoc />
    public override ZoneEvent ReadEvent(ref SnapshotReader reader)
    {
        var zone = reader.ReadString();
        var epc = TrackingJob.ReadEpc(ref reader);
        var entered = reader.ReadByte() == 1;
        var time = reader.ReadInt64();
        var gateway = reader.ReadString();
        return new ZoneEvent { Zone = zone, Epc = epc, Entered = entered, TimeUs = time, Gateway = gateway, Source = StableHash.Hash(gateway), Sequence = reader.ReadUInt64(), Index = reader.ReadInt32() };
    }
}
