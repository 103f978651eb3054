using EdgeStream.Contracts;
using EdgeStream.Tracking.Storage;

namespace EdgeStream.Tracking.Storage.Tests;

/// <summary>What every store must do with people's events: keep each once by client id, hand out what the log lacks, mark history.</summary>
public abstract partial class Tracking_store_contract
{
    private IManualEventStore Manual => Assert.IsAssignableFrom<IManualEventStore>(Store);

    [Fact]
    [Trait("Capability", "Rules")]
    public async Task A_manual_event_is_kept_once_by_its_client_id_until_the_log_has_it_and_marks_the_history_it_opens()
    {
        const string Epc = "30340242201D8840009EFE01";
        await Store.UpsertAssetAsync(new AssetInput("patient-9", "Ann", "patient", null, null, null, [Epc]), T0 - Min, default);
        var input = new ManualInput("ov-1", "patient-9", Epc, ManualKind.Override, "recovery", null, T0 + (60 * Min), "nurse-4", "reader down", T0, T0 + 1);
        var (kept, created) = await Manual.RecordManualAsync(input, default);
        Assert.True(created);
        Assert.Equal((input, false), (kept.Event, kept.Appended));
        var (again, twice) = await Manual.RecordManualAsync(input with { Zone = "triage", ReceivedUs = T0 + 2 }, default);
        Assert.False(twice);
        Assert.Equal(kept, again);
        var (action, _) = await Manual.RecordManualAsync(new ManualInput("a-1", "patient-9", Epc, ManualKind.Action, null, "discharge", 0, "dr-lee", null, T0 + Min, T0 + Min), default);

        Assert.Equal([kept.Sequence, action.Sequence], (await Manual.PendingManualAsync(10, default)).Select(p => p.Sequence));
        Assert.Equal(ManualKind.Action, (await Manual.PendingManualAsync(10, default))[1].ToLogEvent().Kind);
        await Manual.MarkManualAppendedAsync([kept.Sequence], default);
        Assert.Equal([action.Sequence], (await Manual.PendingManualAsync(10, default)).Select(p => p.Sequence));

        var page = await Manual.ListManualAsync("patient-9", 1, null, default);
        var rest = await Manual.ListManualAsync("patient-9", 1, page.Next, default);
        Assert.Equal(["a-1", "ov-1"], page.Items.Concat(rest.Items).Select(m => m.Event.ClientId));
        Assert.True(rest.Items[0].Appended);
        Assert.Empty((await Manual.ListManualAsync("someone-else", 10, null, default)).Items);

        // The placement the job makes of the override carries its event id: history names who and why.
        await Store.ApplyAsync(Batch(Place(Epc, "waiting", T0 - Min), new PlacementRecord(Epc, "recovery", null, T0, ManualEvent.Source, $"{ManualEvent.Source}/{kept.Sequence}/0", false, "o-manual")), default);
        var history = await AllHistoryAsync("patient-9");
        Assert.Equal([null, new ManualMark("override", "nurse-4", "reader down")], history.Select(h => h.Manual));
    }
}
