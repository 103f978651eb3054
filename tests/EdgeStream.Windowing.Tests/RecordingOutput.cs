using EdgeStream.Contracts;
using EdgeStream.Windowing;

namespace EdgeStream.Windowing.Tests;

/// <summary>Keeps everything a processor emits, in order, for assertions.</summary>
internal sealed class RecordingOutput : IWindowOutput
{
    public List<PresenceEvent> Presence { get; } = [];

    public List<TagRead> Reads { get; } = [];

    public List<TagObservation> Observations { get; } = [];

    public List<(TagRead Read, WindowRejectReason Reason)> Rejected { get; } = [];

    public void OnPresence(in PresenceEvent presence) => Presence.Add(presence);

    public void OnRead(in TagRead read) => Reads.Add(read);

    public void OnObservation(in TagObservation observation) => Observations.Add(observation);

    public void OnRejected(in TagRead read, WindowRejectReason reason) => Rejected.Add((read, reason));

    /// <summary>Presence events as compact lines (<c>Arrive ward-3 @1234ms</c>) for readable failures.</summary>
    public string Describe() => string.Join(
        Environment.NewLine,
        Presence.Select(p => $"{p.Epc} {p.Kind} {p.Zone}{(p.FromZone is null ? "" : " from " + p.FromZone)} @{(p.EventTimeUs - ScenarioScript.StartUs) / 1000}ms n={p.ReadCount} mean={p.MeanRssiCentiDbm / 100.0}"));
}
