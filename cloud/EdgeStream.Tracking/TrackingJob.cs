using EdgeStream.Contracts;
using EdgeStream.Contracts.Wire;
using EdgeStream.Engine;
using EdgeStream.Engine.Io;
using EdgeStream.Engine.State;
using EdgeStream.Rules.Definitions;
using EdgeStream.Rules.Rules;
using EdgeStream.Rules.Workflows;
using EdgeStream.Tracking.Rules;
using EdgeStream.Tracking.Workflows;

namespace EdgeStream.Tracking;

/// <summary>
/// Where each tag is, by event time: the engine orders every gateway's events per tag (watermarks per
/// gateway, reordering, lateness), and this job turns them into placements (the tag is in zone Z from
/// time T) and throttled sightings (last-seen). State is keyed by tag; which asset a tag belongs to is
/// the registry's business, so re-tagging never touches the job.
/// </summary>
/// <remarks>
/// Rules, in the order the engine hands events over:
/// <list type="bullet">
/// <item>An arrive or move into the zone the tag is already in changes nothing (only last-seen).</item>
/// <item>A departure counts only from the zone the tag is in: a gateway that stops seeing a tag in its
/// zone never overrules the zone another gateway has seen it enter since.</item>
/// <item>An event older than the tag's current placement (late, or behind from a gateway that was idle)
/// is still emitted, flagged <see cref="TrackingOutput.Late"/>, so that history gets it in order; it
/// does not change the job's notion of where the tag is now.</item>
/// </list>
/// </remarks>
public sealed class TrackingJob : StreamJob<TrackingEvent, Epc, TagState, TrackingOutput>
{
    private readonly NameTable _zones;
    private readonly NameTable _gateways;
    private readonly long _sightingIntervalUs;
    private readonly TagWorkflows? _workflows;
    private readonly TagRules? _rules;

    /// <summary>Creates the job over the process's name tables.</summary>
    /// <param name="zones">Zone names.</param>
    /// <param name="gateways">Gateway names.</param>
    /// <param name="sightingIntervalUs">Least event time between two last-seen refreshes of one tag.</param>
    /// <param name="workflows">The workflows the tags' assets run, or null for none.</param>
    /// <param name="rules">The rules that watch the tags' assets, or null for none.</param>
    public TrackingJob(NameTable zones, NameTable gateways, long sightingIntervalUs = 10_000_000, TagWorkflows? workflows = null, TagRules? rules = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sightingIntervalUs);
        _zones = zones;
        _gateways = gateways;
        _sightingIntervalUs = sightingIntervalUs;
        _workflows = workflows;
        _rules = rules;
        if (rules is not null)
        {
            rules.Workflows = workflows;
        }
    }

    /// <summary>Zone names of this process.</summary>
    public NameTable Zones => _zones;

    /// <summary>Gateway names of this process.</summary>
    public NameTable Gateways => _gateways;

    /// <inheritdoc />
    public override bool TryDecode(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, out TrackingEvent evt, out string? error)
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

        var kind = TrackingEventKind.Read;
        var zone = NameTable.None;
        ManualDetail? manual = null;
        if (entry.Class == DataClass.Mark)
        {
            kind = TrackingEventKind.Mark;
        }
        else if (entry.Class == DataClass.Manual)
        {
            var m = entry.Manual;
            if (!IsComplete(m, out error))
            {
                evt = default;
                return false;
            }

            kind = TrackingEventKind.Manual;
            zone = m.Zone is null ? NameTable.None : _zones.Intern(m.Zone);
            manual = new ManualDetail(m.Kind, m.By, m.ClientId, m.Action, m.Reason, m.UntilUs);
        }
        else if (entry.Class == DataClass.Reads && entry.Read.Zone is { Length: > 0 } scanned && entry.Read.Source is SourceKind.Scanner or SourceKind.Handheld)
        {
            // A person scanned the tag in a zone at the gateway (a handheld, a barcode scanner): a manual
            // placement, by the operator, on the same path as POST /api/events.
            var read = entry.Read;
            kind = TrackingEventKind.Manual;
            zone = _zones.Intern(scanned);
            var by = string.IsNullOrEmpty(read.OperatorId) ? "scanner " + read.ReaderId : read.OperatorId;
            manual = new ManualDetail(ManualKind.Place, by, "scan:" + Storage.PlacementRecord.EventIdOf(entry.GatewayId, entry.Sequence, entry.Index), null, "scanned at " + read.ReaderId, 0) { Scan = true };
        }
        else if (entry.Class == DataClass.Presence)
        {
            if (entry.Presence.Kind is not (PresenceKind.Arrive or PresenceKind.Move or PresenceKind.Depart))
            {
                evt = default;
                error = $"presence kind {(byte)entry.Presence.Kind} is unknown";
                return false;
            }

            if (string.IsNullOrEmpty(entry.Presence.Zone))
            {
                evt = default;
                error = "presence event names no zone";
                return false;
            }

            kind = (TrackingEventKind)entry.Presence.Kind;
            zone = _zones.Intern(entry.Presence.Zone);
        }

        var gateway = _gateways.Intern(entry.GatewayId);
        evt = new TrackingEvent
        {
            Epc = entry.Epc,
            Kind = kind,
            TimeUs = entry.CorrectedTimeUs,
            Gateway = gateway,
            GatewayHash = _gateways.HashOf(gateway),
            Zone = zone,
            Sequence = entry.Sequence,
            Index = entry.Index,
            Manual = manual,
        };
        error = null;
        return true;
    }

    private static bool IsComplete(in ManualEvent m, out string? error)
    {
        error = m.Kind switch
        {
            ManualKind.Place or ManualKind.Override or ManualKind.Peer when string.IsNullOrEmpty(m.Zone) => $"manual {m.Kind} names no zone",
            ManualKind.Peer when string.IsNullOrEmpty(m.Action) => "peer event names no asset type",
            ManualKind.Action when string.IsNullOrEmpty(m.Action) => "manual action names no action",
            _ => string.IsNullOrEmpty(m.By) ? "manual event names nobody who made it" : null,
        };
        return error is null;
    }

    /// <inheritdoc />
    public override Epc KeyOf(in TrackingEvent evt) => evt.Epc;

    /// <inheritdoc />
    public override ulong HashKey(in Epc key)
    {
        Span<byte> bytes = stackalloc byte[Epc.MaxBits / 8];
        var n = key.CopyTo(bytes);
        return StableHash.Hash(bytes[..n]);
    }

    /// <inheritdoc />
    public override long EventTimeOf(in TrackingEvent evt) => evt.TimeUs;

    /// <inheritdoc />
    public override ulong SourceOf(in TrackingEvent evt) => evt.GatewayHash;

    /// <inheritdoc />
    public override int CompareSameTime(in TrackingEvent a, in TrackingEvent b)
    {
        // Presence before reads at the same instant, then by gateway, batch and index: the same order in
        // every process and on every replay; equal on all of these is the same record delivered twice.
        var c = Rank(a.Kind).CompareTo(Rank(b.Kind));
        if (c != 0)
        {
            return c;
        }

        c = a.GatewayHash.CompareTo(b.GatewayHash);
        if (c != 0)
        {
            return c;
        }

        c = a.Sequence.CompareTo(b.Sequence);
        return c != 0 ? c : a.Index.CompareTo(b.Index);

        static int Rank(TrackingEventKind k) => k == TrackingEventKind.Read ? 1 : 0;
    }

    /// <inheritdoc />
    public override void OnEvent(in TrackingEvent evt, ref TagState state, KeyedContext<Epc, TrackingOutput> context)
    {
        if (evt.Kind == TrackingEventKind.Mark)
        {
            return; // its work was done on arrival: the gateway's clock moved
        }

        var t = evt.TimeUs;
        if (state.OverrideUntilUs != 0 && t >= state.OverrideUntilUs)
        {
            EndOverride(ref state, state.OverrideUntilUs, context);
        }

        if (evt.Kind == TrackingEventKind.Manual)
        {
            OnManual(evt, ref state, context);
            return;
        }

        if (t > state.LastSeenUs)
        {
            state.LastSeenUs = t;
        }

        if (evt.Kind != TrackingEventKind.Depart)
        {
            _rules?.OnSeen(ref state, t, evt.Gateway, context);
        }

        if (evt.Kind != TrackingEventKind.Read)
        {
            var target = evt.Kind == TrackingEventKind.Depart ? NameTable.None : evt.Zone;
            if (state.Placed && t < state.SinceUs)
            {
                // Older than where the tag is now: history only.
                context.Emit(Placement(evt, target, late: true));
                return;
            }

            var relevant = evt.Kind != TrackingEventKind.Depart || (state.Placed && state.Zone == evt.Zone);
            if (state.OverrideUntilUs != 0)
            {
                // An override holds against departures (the reads only lost the tag); an arrival or a move
                // is a confident read, which ends it.
                if (evt.Kind == TrackingEventKind.Depart)
                {
                    if (state.ReadZone == evt.Zone)
                    {
                        state.ReadZone = NameTable.None;
                    }

                    relevant = false;
                }
                else
                {
                    ClearOverride(ref state, context);
                }
            }

            if (relevant && (!state.Placed || state.Zone != target))
            {
                // Where the tag is now, however late the event came: history appends it (late marks only
                // what is spliced in behind newer history, above, and what the allowed lateness let pass).
                Move(ref state, target, t, evt.Gateway, evt.Sequence, evt.Index, context);
                return;
            }
        }

        if (t - state.LastSightingUs >= _sightingIntervalUs || state.LastSightingUs == 0)
        {
            state.LastSightingUs = t;
            context.Emit(new TrackingOutput
            {
                Kind = TrackingOutputKind.Sighting,
                TimeUs = t,
                Zone = NameTable.None,
                Left = NameTable.None,
                Gateway = evt.Gateway,
                Sequence = evt.Sequence,
                Index = evt.Index,
            });
        }
    }

    /// <inheritdoc />
    public override void OnTimer(TimerDomain domain, ref TagState state, KeyedContext<Epc, TrackingOutput> context)
    {
        if (domain == TimerDomain.ProcessingTime && state.OverrideUntilUs != 0 && context.Timestamp >= state.OverrideUntilUs)
        {
            EndOverride(ref state, state.OverrideUntilUs, context);
        }

        _workflows?.OnTimer(domain, ref state, context);
        _rules?.OnTimer(domain, ref state, context);
    }

    /// <summary>
    /// A person's event: a scan or a correction places the tag; an override places it and holds it there
    /// against departures until a confident read (an arrival or a move) or its end; a release ends the
    /// override; an action goes to the tag's workflow, and so does a peer's entering the tag's zone.
    /// </summary>
    private void OnManual(in TrackingEvent evt, ref TagState state, KeyedContext<Epc, TrackingOutput> context)
    {
        var m = evt.Manual!;
        var t = evt.TimeUs;
        switch (m.Kind)
        {
            case ManualKind.Action:
                _workflows?.OnManual(ref state, m.Action!, m.By, t, evt.Gateway, context);
                _rules?.OnAction(ref state, m.Action!, t, evt.Gateway, context);
                return;
            case ManualKind.Peer:
                // Only while the tag is still where the peer came in: the zone stage saw them together,
                // and the tag may have moved on since.
                if (state.Placed && state.Zone == evt.Zone && state.SinceUs <= t)
                {
                    _workflows?.OnPeer(ref state, m.Action!, t, evt.Gateway, context);
                }

                return;
            case ManualKind.Release:
                if (state.OverrideUntilUs != 0)
                {
                    EndOverride(ref state, Math.Max(t, state.SinceUs), context);
                }

                return;
        }

        var target = evt.Zone;
        if (m.Scan)
        {
            context.Emit(new TrackingOutput { Kind = TrackingOutputKind.Scan, TimeUs = t, Zone = target, Gateway = evt.Gateway, Sequence = evt.Sequence, Index = evt.Index, Scan = m });
        }

        if (state.Placed && t < state.SinceUs)
        {
            context.Emit(Placement(evt, target, late: true));
            return;
        }

        var readZone = state.OverrideUntilUs != 0 ? state.ReadZone : state.Placed ? state.Zone : NameTable.None;
        ClearOverride(ref state, context);
        if (m.Kind == ManualKind.Override)
        {
            state.OverrideUntilUs = m.UntilUs > 0 ? m.UntilUs : long.MaxValue;
            state.ReadZone = readZone;
            state.OverrideSequence = evt.Sequence;
            if (m.UntilUs > 0)
            {
                context.RegisterProcessingTimer(m.UntilUs);
            }
        }
        else if (m.Kind == ManualKind.Place && t > state.LastSeenUs)
        {
            state.LastSeenUs = t; // a scan is a sighting by a person
            _rules?.OnSeen(ref state, t, evt.Gateway, context);
        }

        if (!state.Placed || state.Zone != target)
        {
            Move(ref state, target, t, evt.Gateway, evt.Sequence, evt.Index, context);
        }
    }

    /// <summary>The override ends at <paramref name="atUs"/>: the tag goes where the reads say it is.</summary>
    private void EndOverride(ref TagState state, long atUs, KeyedContext<Epc, TrackingOutput> context)
    {
        var zone = state.ReadZone;
        var sequence = state.OverrideSequence;
        ClearOverride(ref state, context);
        if (state.Zone != zone)
        {
            // Index 1 of the override's record: the end of what it set.
            Move(ref state, zone, atUs, _gateways.Intern(ManualEvent.Source), sequence, 1, context);
        }
    }

    private void ClearOverride(ref TagState state, KeyedContext<Epc, TrackingOutput> context)
    {
        var until = state.OverrideUntilUs;
        if (until is not (0 or long.MaxValue)
            && !(_workflows?.Waits(state, until, TimerClock.Processing) ?? false)
            && !TagRules.Waits(state.Rules, until, TimerClock.Processing))
        {
            context.DeleteProcessingTimer(state.OverrideUntilUs);
        }

        state.OverrideUntilUs = 0;
        state.ReadZone = NameTable.None;
        state.OverrideSequence = 0;
    }

    private void Move(ref TagState state, int target, long t, int gateway, ulong sequence, int index, KeyedContext<Epc, TrackingOutput> context)
    {
        var previous = state.Placed ? state.Zone : NameTable.None;
        state.Zone = target;
        state.SinceUs = t;
        state.Gateway = gateway;
        state.Placed = true;
        state.LastSightingUs = t;
        context.Emit(new TrackingOutput
        {
            Kind = TrackingOutputKind.Placement,
            TimeUs = t,
            Zone = target,
            Left = target == NameTable.None ? previous : NameTable.None,
            Previous = previous,
            Gateway = gateway,
            Sequence = sequence,
            Index = index,
        });
        var left = _zones.NameOf(previous);
        var entered = _zones.NameOf(target);
        _workflows?.OnPlacement(ref state, left, entered, t, gateway, context);
        _rules?.OnPlacement(ref state, left, entered, t, gateway, context);
    }

    /// <inheritdoc />
    public override void WriteKey(SnapshotWriter writer, in Epc key) => WriteEpc(writer, key);

    /// <inheritdoc />
    public override Epc ReadKey(ref SnapshotReader reader) => ReadEpc(ref reader);

    /// <summary>Writes an EPC into a checkpoint (its length in bits, then its bytes).</summary>
    internal static void WriteEpc(SnapshotWriter writer, in Epc key)
    {
        Span<byte> bytes = stackalloc byte[Epc.MaxBits / 8];
        var n = key.CopyTo(bytes);
        writer.WriteInt32(key.BitLength);
        writer.WriteBytes(bytes[..n]);
    }

    /// <summary>Reads an EPC written by <see cref="WriteEpc"/>.</summary>
    internal static Epc ReadEpc(ref SnapshotReader reader)
    {
        var bits = reader.ReadInt32();
        var bytes = reader.ReadBytes();
        if (!Epc.TryFromBytes(bytes, bits, out var epc))
        {
            throw new CheckpointFormatException($"Checkpoint holds an invalid EPC ({bits} bits, {bytes.Length} bytes).");
        }

        return epc;
    }

    /// <inheritdoc />
    public override void WriteState(SnapshotWriter writer, in TagState state)
    {
        // Flags: bit 0 placed, bit 1 a workflow run follows, bit 2 an override holds, bit 3 rule runs
        // follow (checkpoints written before workflows have 0 or 1, before overrides at most 3, before
        // rules at most 7).
        var runs = state.Rules is { } all && Array.Exists(all, r => !r.IsEmpty) ? all : null; // emptied runs are not kept
        writer.WriteByte((byte)((state.Placed ? 1 : 0) | (state.WorkflowId is null ? 0 : 2) | (state.OverrideUntilUs == 0 ? 0 : 4) | (runs is null ? 0 : 8)));
        WriteName(writer, _zones, state.Zone);
        writer.WriteInt64(state.SinceUs);
        WriteName(writer, _gateways, state.Gateway);
        writer.WriteInt64(state.LastSeenUs);
        writer.WriteInt64(state.LastSightingUs);
        if (state.WorkflowId is { } workflow)
        {
            var run = state.Workflow;
            writer.WriteString(workflow);
            writer.WriteInt32(state.WorkflowVersion);
            writer.WriteInt32(run.State);
            writer.WriteInt64(run.SinceUs);
            WriteOptional(writer, run.Zone);
            WriteOptional(writer, run.LeftZone);
            writer.WriteInt64(run.LeftAtUs);
            writer.WriteUInt64(run.FiredAlerts);
        }

        if (state.OverrideUntilUs != 0)
        {
            writer.WriteInt64(state.OverrideUntilUs);
            WriteName(writer, _zones, state.ReadZone);
            writer.WriteUInt64(state.OverrideSequence);
        }

        if (runs is not null)
        {
            writer.WriteInt32(runs.Count(r => !r.IsEmpty));
            foreach (var r in runs.Where(r => !r.IsEmpty))
            {
                writer.WriteString(r.RuleId);
                writer.WriteInt32(r.Version);
                writer.WriteInt64(r.AnchorUs);
                writer.WriteInt64(r.DeadlineUs);
                writer.WriteByte((byte)((r.Clock == TimerClock.Processing ? 1 : 0) | (r.Raised ? 2 : 0)));
                WriteOptional(writer, r.Zone);
            }
        }
    }

    /// <inheritdoc />
    public override TagState ReadState(ref SnapshotReader reader)
    {
        var flags = reader.ReadByte();
        if (flags > 15)
        {
            throw new CheckpointFormatException($"Checkpoint holds tag state flags {flags}, which this build does not know.");
        }

        var state = new TagState
        {
            Placed = (flags & 1) != 0,
            Zone = ReadName(ref reader, _zones),
            SinceUs = reader.ReadInt64(),
            Gateway = ReadName(ref reader, _gateways),
            LastSeenUs = reader.ReadInt64(),
            LastSightingUs = reader.ReadInt64(),
        };
        if ((flags & 2) != 0)
        {
            state.WorkflowId = reader.ReadString();
            state.WorkflowVersion = reader.ReadInt32();
            state.Workflow = new WorkflowRun
            {
                State = reader.ReadInt32(),
                SinceUs = reader.ReadInt64(),
                Zone = ReadOptional(ref reader),
                LeftZone = ReadOptional(ref reader),
                LeftAtUs = reader.ReadInt64(),
                FiredAlerts = reader.ReadUInt64(),
            };
        }

        if ((flags & 4) != 0)
        {
            state.OverrideUntilUs = reader.ReadInt64();
            state.ReadZone = ReadName(ref reader, _zones);
            state.OverrideSequence = reader.ReadUInt64();
        }

        if ((flags & 8) != 0)
        {
            var count = reader.ReadInt32();
            if (count is < 1 or > 100_000)
            {
                throw new CheckpointFormatException($"Checkpoint holds {count} rule runs for one tag.");
            }

            var runs = new RuleRun[count];
            for (var i = 0; i < count; i++)
            {
                runs[i].RuleId = reader.ReadString();
                runs[i].Version = reader.ReadInt32();
                runs[i].AnchorUs = reader.ReadInt64();
                runs[i].DeadlineUs = reader.ReadInt64();
                var bits = reader.ReadByte();
                runs[i].Clock = (bits & 1) != 0 ? TimerClock.Processing : TimerClock.Event;
                runs[i].Raised = (bits & 2) != 0;
                runs[i].Zone = ReadOptional(ref reader);
            }

            state.Rules = runs;
        }

        return state;
    }

    /// <inheritdoc />
    public override void WriteEvent(SnapshotWriter writer, in TrackingEvent evt)
    {
        WriteKey(writer, evt.Epc);
        writer.WriteByte((byte)evt.Kind);
        writer.WriteInt64(evt.TimeUs);
        WriteName(writer, _gateways, evt.Gateway);
        WriteName(writer, _zones, evt.Zone);
        writer.WriteUInt64(evt.Sequence);
        writer.WriteInt32(evt.Index);
        if (evt.Manual is { } m)
        {
            writer.WriteByte((byte)((byte)m.Kind | (m.Scan ? 0x80 : 0)));
            writer.WriteString(m.By);
            writer.WriteString(m.ClientId);
            WriteOptional(writer, m.Action);
            WriteOptional(writer, m.Reason);
            writer.WriteInt64(m.UntilUs);
        }
    }

    /// <inheritdoc />
    public override TrackingEvent ReadEvent(ref SnapshotReader reader)
    {
        var epc = ReadKey(ref reader);
        var kind = (TrackingEventKind)reader.ReadByte();
        var time = reader.ReadInt64();
        var gateway = ReadName(ref reader, _gateways);
        var zone = ReadName(ref reader, _zones);
        var sequence = reader.ReadUInt64();
        var index = reader.ReadInt32();
        ManualDetail? manual = null;
        if (kind == TrackingEventKind.Manual)
        {
            var kindByte = reader.ReadByte(); // bit 7: a gateway's scan
            var by = reader.ReadString();
            var clientId = reader.ReadString();
            var action = ReadOptional(ref reader);
            var reason = ReadOptional(ref reader);
            manual = new ManualDetail((ManualKind)(kindByte & 0x7F), by, clientId, action, reason, reader.ReadInt64()) { Scan = (kindByte & 0x80) != 0 };
        }

        return new TrackingEvent
        {
            Epc = epc,
            Kind = kind,
            TimeUs = time,
            Gateway = gateway,
            GatewayHash = gateway == NameTable.None ? StableHash.Hash(string.Empty) : _gateways.HashOf(gateway),
            Zone = zone,
            Sequence = sequence,
            Index = index,
            Manual = manual,
        };
    }

    private static TrackingOutput Placement(in TrackingEvent evt, int target, bool late) => new()
    {
        Kind = TrackingOutputKind.Placement,
        TimeUs = evt.TimeUs,
        Zone = target,
        Left = evt.Kind == TrackingEventKind.Depart ? evt.Zone : NameTable.None,
        Gateway = evt.Gateway,
        Sequence = evt.Sequence,
        Index = evt.Index,
        Late = late,
    };

    private static void WriteName(SnapshotWriter writer, NameTable names, int id) => WriteOptional(writer, names.NameOf(id));

    private static void WriteOptional(SnapshotWriter writer, string? text)
    {
        writer.WriteByte(text is null ? (byte)0 : (byte)1);
        if (text is not null)
        {
            writer.WriteString(text);
        }
    }

    private static string? ReadOptional(ref SnapshotReader reader) => reader.ReadByte() == 0 ? null : reader.ReadString();

    private static int ReadName(ref SnapshotReader reader, NameTable names) =>
        ReadOptional(ref reader) is { } name ? names.Intern(name) : NameTable.None;
}
