using System.Net.Sockets;
using EdgeStream.Llrp;
using EdgeStream.Llrp.Model;

namespace EdgeStream.Emulators;

public sealed partial class LlrpEmulator
{
    private void StartInventory(Connection conn, CancellationToken ct)
    {
        conn.Running = true;
        lock (_gate)
        {
            if (!_scenarioClock.IsRunning)
            {
                _scenarioClock.Start();
            }
        }

        conn.Inventory ??= Task.Run(() => InventoryLoopAsync(conn, ct), CancellationToken.None);
    }

    private async Task InventoryLoopAsync(Connection conn, CancellationToken ct)
    {
        var scenario = _options.Scenario;
        var reads = new List<ScenarioRead>();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(scenario.TickMs));
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                if (!conn.Running || conn.Stalled || conn.Spec is not { } spec)
                {
                    continue;
                }

                reads.Clear();
                var elapsedMs = _options.StartAt is { } start ? (long)(DateTimeOffset.UtcNow - start).TotalMilliseconds : _scenarioClock.ElapsedMilliseconds;
                if (elapsedMs < 0 || !scenario.Sample(elapsedMs, _options.Loop, reads))
                {
                    continue;
                }

                var antennas = spec.AntennaIds;
                reads.RemoveAll(r => !(antennas.Contains((ushort)0) || antennas.Contains(r.Antenna)));
                if (reads.Count > 0 && !await SendReportsAsync(conn, spec, reads, ct))
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            await conn.Closed.CancelAsync();
        }
    }

    /// <summary>Sends one round's reads as reports of N tags; false when a fault ended the connection.</summary>
    private async Task<bool> SendReportsAsync(Connection conn, ROSpec spec, List<ScenarioRead> reads, CancellationToken ct)
    {
        var reportSpec = spec.ROReportSpec ?? conn.DefaultReportSpec;
        var n = reportSpec is { N: > 0 } r ? r.N : reads.Count;
        var selector = reportSpec?.TagReportContentSelector;
        var impinj = reportSpec?.ImpinjPeakRssiEnabled ?? false;
        var faults = _options.Faults;
        var now = (ulong)((long)NowUs() + (_options.Scenario.ClockOffsetMs * 1000L));
        var coalesced = faults.Coalesce ? new LlrpWriter(4096) : null;
        for (var i = 0; i < reads.Count; i += n)
        {
            var w = coalesced ?? new LlrpWriter(512);
            var start = w.Length;
            var m = w.BeginMessage(LlrpMessageType.ROAccessReport, NextId());
            var count = Math.Min(n, reads.Count - i);
            for (var k = 0; k < count; k++)
            {
                var read = reads[i + k];
                LlrpEncoder.WriteTagReportData(
                    w,
                    read.Epc,
                    read.Epc.Length * 8,
                    selector is null || selector.EnableAntennaId ? read.Antenna : null,
                    selector is null || selector.EnablePeakRssi ? (sbyte)Math.Round(read.RssiDbm) : null,
                    _options.Scenario.SendFirstSeen && (selector is null || selector.EnableFirstSeenTimestamp) ? now : null,
                    channelIndex: selector?.EnableChannelIndex == true ? (ushort)1 : null,
                    tagSeenCount: selector?.EnableTagSeenCount == true ? (ushort)1 : null,
                    lastSeenUtc: _options.Scenario.SendFirstSeen && selector?.EnableLastSeenTimestamp == true ? now : null,
                    impinjPeakRssi: impinj ? (short)Math.Round(read.RssiDbm * 100) : null);
            }

            w.EndMessage(m);
            conn.Reports++;
            if (faults.CorruptEveryReports is { } every && conn.Reports % every == 0)
            {
                // Break the first TagReportData's length so it runs past the message: the frame stays
                // intact, its content does not.
                CorruptFirstParameterLength(w, start);
                Log($"llrp: fault: corrupted report {conn.Reports}");
            }

            if (coalesced is null)
            {
                await WriteAsync(conn, w.WrittenMemory, ct);
            }

            Interlocked.Increment(ref _reportsSent);
            Interlocked.Add(ref _tagsSent, count);

            if (faults.DropAfterReports is { } drop && conn.Reports >= drop)
            {
                if (coalesced is not null)
                {
                    await WriteAsync(conn, coalesced.WrittenMemory, ct);
                }

                Log($"llrp: fault: dropping the connection after {conn.Reports} reports");
                conn.Socket.LingerState = new LingerOption(true, 0);
                conn.Socket.Close();
                await conn.Closed.CancelAsync();
                return false;
            }

            if (faults.StallAfterReports is { } stall && conn.Reports >= stall)
            {
                if (coalesced is not null)
                {
                    await WriteAsync(conn, coalesced.WrittenMemory, ct);
                }

                Log($"llrp: fault: stalling after {conn.Reports} reports");
                conn.Stalled = true;
                return false;
            }

            if (faults.GarbageAfterReports is { } garbage && conn.Reports >= garbage)
            {
                if (coalesced is not null)
                {
                    await WriteAsync(conn, coalesced.WrittenMemory, ct);
                }

                Log($"llrp: fault: sending garbage after {conn.Reports} reports");
                var junk = new byte[64];
                Random.Shared.NextBytes(junk);
                junk[0] = 0xFF; // Not version 1: the stream's framing is lost.
                await WriteAsync(conn, junk, ct);
                conn.Stalled = true;
                return false;
            }
        }

        if (coalesced is not null)
        {
            await WriteAsync(conn, coalesced.WrittenMemory, ct);
        }

        return true;
    }

    private static void CorruptFirstParameterLength(LlrpWriter w, int messageStart)
    {
        // The first TagReportData header sits right after the message header; patch its length to 0xFFFF.
        w.Overwrite(messageStart + LlrpHeader.Size + 2, [0xFF, 0xFF]);
    }
}
