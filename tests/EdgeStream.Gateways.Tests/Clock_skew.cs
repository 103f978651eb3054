using EdgeStream.Gateways;

namespace EdgeStream.Gateways.Tests;

[Trait("Capability", "Tracking")]
public sealed class Clock_skew
{
    private const long Second = 1_000_000;
    private const long T0 = 1_800_000_000 * Second;

    [Fact]
    public void A_gateway_an_hour_ahead_is_measured_and_corrected_after_three_batches()
    {
        var skew = new ClockSkew();
        const long ahead = 3600 * Second;
        skew.ObserveStatus("gw", T0 + ahead, T0);
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(0, skew.CorrectionUs("gw", T0 + (i * Second)));

            // Sealed 200 ms after its newest event, received 50 ms later.
            var received = T0 + (i * Second);
            skew.ObserveBatch("gw", received - (50_000) + ahead, received - 250_000 + ahead, received);
        }

        var measured = skew.SkewUs("gw", T0 + (4 * Second))!.Value;
        Assert.InRange(measured, ahead - Second, ahead);
        Assert.Equal(measured, skew.CorrectionUs("gw", T0 + (4 * Second)));
    }

    [Fact]
    public void After_a_restart_the_correction_in_the_log_holds_until_the_gateway_is_measured_again()
    {
        const long behind = -3600 * Second;
        var skew = new ClockSkew();
        skew.Resume("gw", behind, T0 - (30 * Second));

        // The first batches after the restart are corrected as those before it were.
        skew.ObserveStatus("gw", T0, T0);
        skew.ObserveBatch("gw", T0, T0 + behind, T0);
        Assert.Equal(behind, skew.CorrectionUs("gw", T0));

        // Three batches establish the gateway's own figure, which then wins.
        for (var i = 1; i <= 3; i++)
        {
            skew.ObserveBatch("gw", T0 + (i * Second), T0 + (i * Second) + behind + Second, T0 + (i * Second));
        }

        Assert.Equal(behind + Second, skew.CorrectionUs("gw", T0 + (4 * Second)));

        // A correction resumed from long ago (older than the window) is not applied, nor one for another gateway.
        var stale = new ClockSkew();
        stale.Resume("gw", behind, T0 - (11 * 60 * Second));
        Assert.Equal(0, stale.CorrectionUs("gw", T0));
        Assert.Equal(0, stale.CorrectionUs("other", T0));
    }

    [Fact]
    public void A_reader_behind_its_gateway_is_measured_through_the_batches()
    {
        var skew = new ClockSkew();
        const long behind = -90 * Second;
        skew.ObserveStatus("gw", T0, T0);
        for (var i = 0; i < 10; i++)
        {
            var received = T0 + (i * Second);
            skew.ObserveBatch("gw", received - 20_000, received - 20_000 + behind - 100_000, received);
        }

        var measured = skew.SkewUs("gw", T0 + (10 * Second))!.Value;
        Assert.InRange(measured, behind - Second, behind);
        Assert.Equal(measured, skew.CorrectionUs("gw", T0 + (10 * Second)));
    }

    [Fact]
    public void Without_a_status_a_backlog_sealed_long_ago_is_measured_but_never_corrected()
    {
        // Behind an external broker the cloud may see no status: batches sealed an hour ago, arriving now,
        // look exactly like a clock an hour behind. Shown, not acted on.
        var skew = new ClockSkew();
        for (var i = 0; i < 10; i++)
        {
            var received = T0 + (i * 1000);
            var sealedAt = received - (3600 * Second);
            skew.ObserveBatch("gw", sealedAt, sealedAt - 100_000, received);
        }

        Assert.InRange(skew.SkewUs("gw", T0 + Second)!.Value, -3601 * Second, -3599 * Second);
        Assert.Equal(0, skew.CorrectionUs("gw", T0 + Second));

        // Its status, as it would send on connecting, shows the clock right: still no correction.
        skew.ObserveStatus("gw", T0 + Second, T0 + Second);
        Assert.Equal(0, skew.CorrectionUs("gw", T0 + (2 * Second)));
    }

    [Fact]
    public void A_gateway_within_the_threshold_is_shown_but_not_corrected()
    {
        var skew = new ClockSkew(TimeSpan.FromSeconds(5));
        for (var i = 0; i < 10; i++)
        {
            var received = T0 + (i * Second);
            skew.ObserveBatch("gw", received + (2 * Second), received + (2 * Second) - 100_000, received);
        }

        Assert.InRange(skew.SkewUs("gw", T0 + (10 * Second))!.Value, Second, 2 * Second);
        Assert.Equal(0, skew.CorrectionUs("gw", T0 + (10 * Second)));
    }

    [Fact]
    public void A_backlog_replayed_after_an_outage_is_not_taken_for_a_slow_clock()
    {
        // The gateway's clock is right; its uplink was down for 10 minutes. As it reconnects it sends a
        // fresh status, then the batches it sealed during the outage arrive all at once.
        var skew = new ClockSkew();
        var reconnect = T0 + (600 * Second);
        skew.ObserveStatus("gw", reconnect, reconnect);
        for (var i = 0; i < 600; i += 5)
        {
            var sealedAt = T0 + (i * Second);
            skew.ObserveBatch("gw", sealedAt, sealedAt - 300_000, reconnect + (i * 1000));
        }

        var measured = skew.SkewUs("gw", reconnect + Second)!.Value;
        Assert.InRange(measured, -Second, 0);
        Assert.Equal(0, skew.CorrectionUs("gw", reconnect + Second));
    }

    [Fact]
    public void A_backlog_longer_than_the_sample_buffer_does_not_push_out_the_status()
    {
        // As above, but the outage left thousands of batches (one every 200 ms for 10 minutes): far more
        // clock samples than the estimator keeps, every one of them sealed long before it arrived.
        var skew = new ClockSkew();
        var reconnect = T0 + (600 * Second);
        skew.ObserveStatus("gw", reconnect, reconnect);
        for (var i = 0; i < 3000; i++)
        {
            var sealedAt = T0 + (i * 200_000);
            skew.ObserveBatch("gw", sealedAt, sealedAt - 300_000, reconnect + (i * 100));
            Assert.Equal(0, skew.CorrectionUs("gw", reconnect + (i * 100)));
        }

        Assert.InRange(skew.SkewUs("gw", reconnect + Second)!.Value, -Second, 0);
    }

    [Fact]
    public void When_the_last_status_ages_out_the_established_correction_holds_one_more_window()
    {
        // A reader an hour behind its gateway, whose gateway sent its status once, on connect. Batches
        // keep coming; the status leaves the ten-minute window at 600 s.
        var skew = new ClockSkew();
        const long behind = -3600 * Second;
        skew.ObserveStatus("gw", T0, T0);
        long Batch(long at)
        {
            skew.ObserveBatch("gw", at - 50_000, at - 250_000 + behind, at);
            return skew.CorrectionUs("gw", at);
        }

        for (var t = 1; t < 600; t++)
        {
            Batch(T0 + (t * Second));
        }

        var established = skew.CorrectionUs("gw", T0 + (599 * Second));
        Assert.InRange(established, behind - Second, behind);
        Assert.Equal(established, Batch(T0 + (601 * Second)));
        Assert.Equal(established, Batch(T0 + (1100 * Second)));

        // A window after the last established correction, with still no status, nothing is corrected.
        Assert.Equal(0, Batch(T0 + (1300 * Second)));
    }

    [Fact]
    public void Two_garbage_reader_timestamps_do_not_move_the_estimate()
    {
        var skew = new ClockSkew();
        for (var i = 0; i < 20; i++)
        {
            var received = T0 + (i * Second);
            var newest = i is 3 or 11 ? received + (86_400 * Second * 400) : received - 100_000;
            skew.ObserveBatch("gw", received, newest, received);
        }

        Assert.InRange(skew.SkewUs("gw", T0 + (20 * Second))!.Value, -Second, 0);
        Assert.Equal(0, skew.CorrectionUs("gw", T0 + (20 * Second)));
    }

    [Fact]
    public void Samples_older_than_the_window_stop_counting_so_a_fixed_clock_stops_being_corrected()
    {
        var skew = new ClockSkew(window: TimeSpan.FromMinutes(1));
        skew.ObserveStatus("gw", T0 + (600 * Second), T0);
        for (var i = 0; i < 5; i++)
        {
            var received = T0 + (i * Second);
            skew.ObserveBatch("gw", received + (600 * Second), received + (600 * Second), received);
        }

        Assert.NotEqual(0, skew.CorrectionUs("gw", T0 + (5 * Second)));

        // NTP fixed the clock; after the window only right samples remain.
        var later = T0 + (120 * Second);
        skew.ObserveStatus("gw", later, later);
        for (var i = 0; i < 5; i++)
        {
            skew.ObserveBatch("gw", later + (i * Second), later + (i * Second) - 100_000, later + (i * Second));
        }

        Assert.Equal(0, skew.CorrectionUs("gw", later + (5 * Second)));
        Assert.Null(skew.SkewUs("other", later));
        Assert.Equal(0, skew.CorrectionUs("other", later));
    }
}
