using System.Globalization;
using EdgeStream.Rules.Definitions;
using EdgeStream.Rules.Workflows;

namespace EdgeStream.Rules.Rules;

/// <summary>One asset's run of one rule: small, so that it lives in the asset's keyed state. Empty (all zero) when the rule waits for nothing.</summary>
public struct RuleRun
{
    /// <summary>The rule.</summary>
    public string RuleId;

    /// <summary>The version the run follows.</summary>
    public int Version;

    /// <summary>When the pattern's first part happened (entered the dwell zone, left the absent zone, saw A, was authorised); 0: not pending.</summary>
    public long AnchorUs;

    /// <summary>The armed deadline; 0: none.</summary>
    public long DeadlineUs;

    /// <summary>The clock of <see cref="DeadlineUs"/>.</summary>
    public TimerClock Clock;

    /// <summary>The zone the run is about (the one entered, left, or dwelt in), or null.</summary>
    public string? Zone;

    /// <summary>The rule raised an alert that its condition has not cleared yet.</summary>
    public bool Raised;

    /// <summary>True when the run holds nothing (the host drops it).</summary>
    public readonly bool IsEmpty => AnchorUs == 0 && DeadlineUs == 0 && !Raised;
}

/// <summary>What an asset did, as rules see it.</summary>
public enum RuleInputKind
{
    /// <summary>Entered a zone.</summary>
    Enter,

    /// <summary>Left a zone.</summary>
    Leave,

    /// <summary>A person's action.</summary>
    Action,

    /// <summary>Seen at all (a read or a placement): what <c>missing</c> counts from.</summary>
    Seen,
}

/// <summary>
/// Runs a <see cref="RuleDefinition"/> for one asset at a time, as <see cref="WorkflowMachine"/> runs a
/// workflow: the host keeps each asset's <see cref="RuleRun"/> in keyed state and its deadline in the
/// engine's timers, so both are checkpointed with the task. Deterministic: the same inputs and timers in
/// the same order give the same outputs. A timer whose deadline no longer holds does nothing.
/// </summary>
/// <remarks>
/// Patterns with a deadline (dwell, absent, missing, not followed by) fire at the deadline itself, when
/// the clock passes it, whether or not a further event of the asset comes: absence at the end of a
/// pattern is a timer, not a match on the next event. Alerts go out as <see cref="AlertRaised"/> and
/// <see cref="AlertCleared"/> with the rule's id; the store keeps one open per rule and asset.
/// </remarks>
public sealed class RuleMachine
{
    private readonly RuleDefinition _rule;
    private readonly Func<string, string?> _kindOf;
    private readonly Func<string, TimeZoneInfo?> _timeZoneOf;
    private readonly TimeZoneInfo? _calendarZone;
    private readonly string[] _zones;
    private readonly string[] _kinds;
    private readonly string[] _actions;
    private readonly string? _tail;

    /// <summary>Creates the machine; <paramref name="kindOf"/> says what kind a zone is, <paramref name="timeZoneOf"/> the time zone of its site (null: unknown, UTC).</summary>
    public RuleMachine(RuleDefinition rule, Func<string, string?> kindOf, Func<string, TimeZoneInfo?> timeZoneOf)
    {
        _rule = rule;
        _kindOf = kindOf;
        _timeZoneOf = timeZoneOf;
        _calendarZone = rule.Calendar?.TimeZone is { } tz ? TimeZoneInfo.FindSystemTimeZoneById(tz) : null;
        var matches = ZoneMatches(rule.Pattern).ToList();
        _zones = [.. matches.Select(m => m.Zone).OfType<string>().Distinct()];
        _kinds = [.. matches.Select(m => m.Kind).OfType<string>().Distinct()];
        _actions = [.. Steps(rule.Pattern).Where(s => s.Kind == RuleStepKind.Action).Select(s => s.Action!).Distinct()];
        _tail = TailOf(rule.Pattern);
    }

    /// <summary>The definition run.</summary>
    public RuleDefinition Definition => _rule;

    /// <summary>The zones the pattern names (any input in one of them may start a run; the catalog indexes rules by these).</summary>
    public IReadOnlyList<string> Zones => _zones;

    /// <summary>The kinds of zone the pattern names.</summary>
    public IReadOnlyList<string> Kinds => _kinds;

    /// <summary>The actions the pattern names.</summary>
    public IReadOnlyList<string> Actions => _actions;

    /// <summary>True when the rule counts every sighting (<c>missing</c>), so that the host hands it reads too.</summary>
    public bool WatchesSightings => _rule.Pattern is MissingPattern;

    /// <summary>True for a pattern over a zone (<c>occupancy</c>, <c>count</c>): the zone stage runs it, not the tags.</summary>
    public bool ZoneWide => _rule.Pattern is ZoneWidePattern;

    /// <summary>True when the zone-wide pattern watches <paramref name="zone"/>.</summary>
    public bool Covers(string zone) => _rule.Pattern is ZoneWidePattern p && Matches(p.Zone, zone);

    /// <summary>How many of the rule's assets <paramref name="zone"/> may hold before the alert opens: its capacity (null: none, never over) or the count's limit.</summary>
    public int? LimitIn(int? capacity) => _rule.Pattern switch
    {
        OccupancyPattern => capacity,
        CountPattern c => c.Above,
        _ => null,
    };

    /// <summary>True when the calendar lets the rule fire at <paramref name="atUs"/> in <paramref name="zone"/>.</summary>
    public bool MayFire(long atUs, string zone) => InCalendar(atUs, zone);

    /// <summary>The text of a zone-wide alert: the rule's message, or what was counted against what limit.</summary>
    public string ZoneAlertText(string zone, int count, int limit) => _rule.Message ?? (_rule.Pattern is OccupancyPattern
        ? $"{count} assets in {zone}, above its capacity of {limit}"
        : _rule.Assets.Type is { } type ? $"{count} of type {type} in {zone}, above {limit}" : $"{count} assets in {zone}, above {limit}");

    /// <summary>The asset did <paramref name="kind"/> (in <paramref name="subject"/>: the zone, or the action's name) at <paramref name="atUs"/>; <paramref name="lastSeenUs"/> is the newest time it was seen.</summary>
    public void OnInput(ref RuleRun run, RuleInputKind kind, string? subject, long atUs, long lastSeenUs, IWorkflowTimers timers, List<WorkflowOutput> outputs)
    {
        switch (_rule.Pattern)
        {
            case EntersPattern p:
                if (kind == RuleInputKind.Enter && Matches(p.Zone, subject))
                {
                    run.Zone = subject;
                    Raise(ref run, atUs, subject, "entered ", null, outputs);
                }
                else if (kind == RuleInputKind.Leave && run.Raised && run.Zone == subject)
                {
                    Clear(ref run, atUs, $"left {subject}", outputs);
                }

                break;
            case LeavesPattern p:
                if (kind == RuleInputKind.Leave && Matches(p.Zone, subject))
                {
                    run.Zone = subject;
                    Raise(ref run, atUs, subject, "left ", null, outputs);
                }
                else if (kind == RuleInputKind.Enter && run.Raised && Matches(p.Zone, subject))
                {
                    Clear(ref run, atUs, $"back in {subject}", outputs);
                }

                break;
            case DwellPattern p:
                if (kind == RuleInputKind.Enter && Matches(p.Zone, subject))
                {
                    run.Zone = subject;
                    run.AnchorUs = atUs;
                    Arm(ref run, atUs + Us(p.LongerThan), timers);
                }
                else if (kind == RuleInputKind.Leave && run.Zone == subject && run.Zone is not null)
                {
                    Disarm(ref run, timers);
                    run.AnchorUs = 0;
                    if (run.Raised)
                    {
                        Clear(ref run, atUs, $"left {subject}", outputs);
                    }
                }

                break;
            case AbsentPattern p:
                if (kind == RuleInputKind.Leave && Matches(p.Zone, subject))
                {
                    run.Zone = subject;
                    run.AnchorUs = atUs;
                    Arm(ref run, atUs + Us(p.For), timers);
                }
                else if (kind == RuleInputKind.Enter && Matches(p.Zone, subject))
                {
                    Disarm(ref run, timers);
                    run.AnchorUs = 0;
                    if (run.Raised)
                    {
                        Clear(ref run, atUs, $"back in {subject}", outputs);
                    }
                }

                break;
            case MissingPattern p when kind == RuleInputKind.Seen:
                if (run.Raised)
                {
                    Clear(ref run, atUs, "seen again", outputs);
                }

                if (run.DeadlineUs == 0)
                {
                    // One timer per absence: a sighting does not move it; when it fires early it re-arms from the newest sighting.
                    Arm(ref run, Math.Max(atUs, lastSeenUs) + Us(p.For), timers);
                }

                break;
            case FollowedByPattern p:
                Expire(ref run, atUs, p.Within);
                if (Is(p.Then, kind, subject) && run.AnchorUs != 0 && atUs - run.AnchorUs <= Us(p.Within))
                {
                    run.AnchorUs = 0;
                    Raise(ref run, atUs, kind == RuleInputKind.Action ? run.Zone : subject, null, _tail, outputs);
                    run.Raised = false; // nothing clears it by itself: it is resolved by hand
                }
                else if (Is(p.First, kind, subject))
                {
                    run.AnchorUs = atUs;
                    run.Zone = kind == RuleInputKind.Action ? null : subject;
                }

                break;
            case NotFollowedByPattern p:
                if (Is(p.Then, kind, subject))
                {
                    Disarm(ref run, timers);
                    run.AnchorUs = 0;
                    if (run.Raised)
                    {
                        Clear(ref run, atUs, p.Then.ToString(), outputs);
                    }
                }
                else if (Is(p.First, kind, subject) && run.DeadlineUs == 0)
                {
                    run.AnchorUs = atUs;
                    run.Zone = kind == RuleInputKind.Action ? null : subject;
                    Arm(ref run, atUs + Us(p.Within), timers);
                }

                break;
            case ExitWithoutPattern p:
                Expire(ref run, atUs, p.Within);
                if (Authorises(p, kind, subject))
                {
                    run.AnchorUs = atUs;
                    if (run.Raised)
                    {
                        Clear(ref run, atUs, "authorised: " + Describe(kind, subject), outputs);
                    }
                }
                else if (kind == RuleInputKind.Enter && Matches(p.Exit, subject) && (run.AnchorUs == 0 || atUs - run.AnchorUs > Us(p.Within)))
                {
                    run.Zone = subject;
                    Raise(ref run, atUs, subject, "entered ", _tail, outputs);
                }

                break;
        }
    }

    /// <summary>A timer fired at <paramref name="timeUs"/> on <paramref name="clock"/>.</summary>
    public void OnTimer(ref RuleRun run, long timeUs, TimerClock clock, long lastSeenUs, IWorkflowTimers timers, List<WorkflowOutput> outputs)
    {
        if (run.DeadlineUs != timeUs || run.Clock != clock)
        {
            return;
        }

        run.DeadlineUs = 0;
        switch (_rule.Pattern)
        {
            case DwellPattern p:
                Raise(ref run, timeUs, run.Zone, "in ", _tail, outputs);
                break;
            case AbsentPattern p:
                Raise(ref run, timeUs, run.Zone, "away from ", _tail, outputs);
                break;
            case MissingPattern p:
                if (lastSeenUs + Us(p.For) > timeUs)
                {
                    Arm(ref run, lastSeenUs + Us(p.For), timers); // seen since the timer was armed
                }
                else
                {
                    Raise(ref run, timeUs, null, null, _tail, outputs);
                }

                break;
            case NotFollowedByPattern p:
                Raise(ref run, timeUs, run.Zone, null, _tail, outputs);
                break;
        }

        if (_rule.Pattern is not MissingPattern)
        {
            run.AnchorUs = 0;
        }
    }

    /// <summary>
    /// Moves a run of <paramref name="older"/> (another version of this rule) onto this one. The rule:
    /// when the pattern is the same kind over the same zones, the run keeps what is pending and its open
    /// alert, and a pending deadline moves to this version's duration and clock (at once, if it has
    /// passed); otherwise the run ends (<see cref="Retire"/>) and starts afresh.
    /// </summary>
    public void Adopt(RuleMachine older, ref RuleRun run, long atUs, long lastSeenUs, IWorkflowTimers timers, List<WorkflowOutput> outputs)
    {
        run.Version = _rule.Version;
        if (!SameShape(older._rule.Pattern, _rule.Pattern))
        {
            older.Retire(ref run, atUs, timers, outputs, $"rule changed in version {_rule.Version}");
            run.Version = _rule.Version;
            return;
        }

        if (run.DeadlineUs == 0)
        {
            return;
        }

        var due = _rule.Pattern switch
        {
            DwellPattern p => run.AnchorUs + Us(p.LongerThan),
            AbsentPattern p => run.AnchorUs + Us(p.For),
            MissingPattern p => lastSeenUs + Us(p.For),
            NotFollowedByPattern p => run.AnchorUs + Us(p.Within),
            _ => 0,
        };
        if (due != run.DeadlineUs || run.Clock != _rule.Clock)
        {
            Disarm(ref run, timers);
            Arm(ref run, due, timers);
        }
    }

    /// <summary>The run ends (the rule was removed, or the asset no longer matches it): its deadline is withdrawn and its open alert clears.</summary>
    public void Retire(ref RuleRun run, long atUs, IWorkflowTimers timers, List<WorkflowOutput> outputs, string reason)
    {
        Disarm(ref run, timers);
        if (run.Raised)
        {
            Clear(ref run, atUs, reason, outputs);
        }

        run = new RuleRun { RuleId = run.RuleId, Version = run.Version };
    }

    /// <summary>Forgets a first step older than the window: nothing can match it any more, and the run stays as small as what is pending.</summary>
    private static void Expire(ref RuleRun run, long atUs, TimeSpan within)
    {
        if (run.AnchorUs != 0 && atUs - run.AnchorUs > Us(within))
        {
            run.AnchorUs = 0;
            if (!run.Raised)
            {
                run.Zone = null;
            }
        }
    }

    private bool Authorises(ExitWithoutPattern p, RuleInputKind kind, string? subject)
    {
        foreach (var a in p.AuthorisedBy)
        {
            if (Is(a, kind, subject))
            {
                return true;
            }
        }

        return false;
    }

    private static IEnumerable<ZoneMatch> ZoneMatches(RulePattern? pattern)
    {
        ZoneMatch? own = pattern switch
        {
            EntersPattern p => p.Zone,
            LeavesPattern p => p.Zone,
            DwellPattern p => p.Zone,
            AbsentPattern p => p.Zone,
            ExitWithoutPattern p => p.Exit,
            _ => null,
        };
        return (own is null ? [] : new[] { own }).Concat(Steps(pattern).Select(s => s.Zone).OfType<ZoneMatch>());
    }

    private static IEnumerable<RuleStep> Steps(RulePattern? pattern) => pattern switch
    {
        FollowedByPattern p => new[] { p.First, p.Then },
        NotFollowedByPattern p => new[] { p.First, p.Then },
        ExitWithoutPattern p => p.AuthorisedBy,
        _ => [],
    };

    private static bool SameShape(RulePattern? a, RulePattern? b) => (a, b) switch
    {
        (EntersPattern x, EntersPattern y) => x.Zone == y.Zone,
        (LeavesPattern x, LeavesPattern y) => x.Zone == y.Zone,
        (DwellPattern x, DwellPattern y) => x.Zone == y.Zone,
        (AbsentPattern x, AbsentPattern y) => x.Zone == y.Zone,
        (MissingPattern, MissingPattern) => true,
        (FollowedByPattern x, FollowedByPattern y) => x.First == y.First && x.Then == y.Then,
        (NotFollowedByPattern x, NotFollowedByPattern y) => x.First == y.First && x.Then == y.Then,
        (ExitWithoutPattern x, ExitWithoutPattern y) => x.Exit == y.Exit,
        _ => false,
    };

    private void Arm(ref RuleRun run, long deadlineUs, IWorkflowTimers timers)
    {
        if (run.DeadlineUs == deadlineUs && run.Clock == _rule.Clock)
        {
            return;
        }

        Disarm(ref run, timers);
        run.DeadlineUs = deadlineUs;
        run.Clock = _rule.Clock;
        timers.Register(deadlineUs, _rule.Clock);
    }

    private static void Disarm(ref RuleRun run, IWorkflowTimers timers)
    {
        if (run.DeadlineUs == 0)
        {
            return;
        }

        var (time, clock) = (run.DeadlineUs, run.Clock);
        run.DeadlineUs = 0;
        timers.Delete(time, clock);
    }

    /// <summary>Opens the alert, unless one is open or the calendar says no; its text is the rule's message, or <paramref name="lead"/> + the zone + <paramref name="tail"/> (made only then: this is on the hot path).</summary>
    private void Raise(ref RuleRun run, long atUs, string? zone, string? lead, string? tail, List<WorkflowOutput> outputs)
    {
        if (run.Raised || !InCalendar(atUs, zone))
        {
            return;
        }

        run.Raised = true;
        var text = _rule.Message ?? (lead is null ? tail ?? _rule.Id : string.Concat(lead, zone, tail));
        outputs.Add(new AlertRaised(_rule.Id, zone ?? string.Empty, _rule.Severity, text, atUs));
    }

    private void Clear(ref RuleRun run, long atUs, string reason, List<WorkflowOutput> outputs)
    {
        run.Raised = false;
        outputs.Add(new AlertCleared(_rule.Id, run.Zone ?? string.Empty, atUs, reason));
        run.Zone = null;
    }

    private bool InCalendar(long atUs, string? zone)
    {
        if (_rule.Calendar is not { } calendar)
        {
            return true;
        }

        var zoneTime = _calendarZone ?? (zone is null ? null : _timeZoneOf(zone)) ?? TimeZoneInfo.Utc;
        var utc = DateTime.UnixEpoch.AddTicks(atUs * 10);
        return calendar.Contains(TimeZoneInfo.ConvertTimeFromUtc(utc, zoneTime));
    }

    /// <summary>What follows the zone in an alert's text made from the pattern (the whole text when it names no zone), made once.</summary>
    private static string? TailOf(RulePattern? pattern) => pattern switch
    {
        DwellPattern p => " longer than " + Text(p.LongerThan),
        AbsentPattern p => " for " + Text(p.For),
        MissingPattern p => "seen nowhere for " + Text(p.For),
        FollowedByPattern p => $"{p.First} then {p.Then} within {Text(p.Within)}",
        NotFollowedByPattern p => $"{p.First} with no {p.Then} within {Text(p.Within)}",
        ExitWithoutPattern p => $" with no {string.Join(" or ", p.AuthorisedBy)} in the {Text(p.Within)} before",
        _ => null,
    };

    private static string Describe(RuleInputKind kind, string? subject) => kind switch
    {
        RuleInputKind.Enter => "entered " + subject,
        RuleInputKind.Leave => "left " + subject,
        _ => "action " + subject,
    };

    private bool Is(RuleStep step, RuleInputKind kind, string? subject) => step.Kind switch
    {
        RuleStepKind.Enter => kind == RuleInputKind.Enter && Matches(step.Zone!, subject),
        RuleStepKind.Leave => kind == RuleInputKind.Leave && Matches(step.Zone!, subject),
        _ => kind == RuleInputKind.Action && step.Action == subject,
    };

    private bool Matches(ZoneMatch match, string? zone) =>
        zone is not null && (match.Zone is { } name ? name == zone : match.Kind is { } kind && _kindOf(zone) == kind);

    private static long Us(TimeSpan d) => (long)d.TotalMicroseconds;

    /// <summary>A duration as definitions write it: <c>45m</c>, <c>2h</c>, <c>1h30m</c>.</summary>
    private static string Text(TimeSpan d)
    {
        var parts = new List<string>();
        if (d.Days > 0)
        {
            parts.Add(d.Days.ToString(CultureInfo.InvariantCulture) + "d");
        }

        if (d.Hours > 0)
        {
            parts.Add(d.Hours.ToString(CultureInfo.InvariantCulture) + "h");
        }

        if (d.Minutes > 0)
        {
            parts.Add(d.Minutes.ToString(CultureInfo.InvariantCulture) + "m");
        }

        if (d.Seconds > 0)
        {
            parts.Add(d.Seconds.ToString(CultureInfo.InvariantCulture) + "s");
        }

        return string.Concat(parts);
    }
}
