using EdgeStream.Contracts;
using EdgeStream.Llrp;
using EdgeStream.Llrp.Model;
using Microsoft.Extensions.Logging;

namespace EdgeStream.Readers.Llrp;

public sealed partial class LlrpReaderDriver
{
    private async Task ConfigureAsync(Link link, CancellationToken cancellationToken)
    {
        // 1. The reader speaks first: a READER_EVENT_NOTIFICATION whose ConnectionAttemptEvent says
        //    whether it accepts us. A reader busy with another client says so here, then hangs up.
        while (true)
        {
            using var first = await ReadAsync(link, Settings.ResponseTimeout, "waiting for the ConnectionAttemptEvent", cancellationToken);
            if (first.Header.Type != LlrpMessageType.ReaderEventNotification)
            {
                await DispatchAsync(link, first, cancellationToken);
                continue;
            }

            var data = Decode(() => LlrpDecoder.DecodeReaderEventNotification(first.Body), "READER_EVENT_NOTIFICATION");
            if (data.ConnectionAttemptEvent is not { } attempt)
            {
                Surface(link, data);
                continue;
            }

            if (attempt.Status != ConnectionAttemptStatus.Success)
            {
                throw new ReaderLinkException($"LLRP reader {_host}:{_port} refused the connection: {Describe(attempt.Status)}.");
            }

            break;
        }

        // 2. Capabilities: power table, antenna count, vendor.
        var capsId = NextId();
        await SendAsync(link, w => LlrpEncoder.GetReaderCapabilities(w, capsId), cancellationToken);
        using (var caps = await AwaitResponseAsync(link, capsId, LlrpMessageType.GetReaderCapabilitiesResponse, cancellationToken))
        {
            Capabilities = Decode(() => LlrpDecoder.DecodeReaderCapabilities(caps.Body), "GET_READER_CAPABILITIES_RESPONSE");
            Check(Capabilities.LlrpStatus, "GET_READER_CAPABILITIES");
        }

        var impinj = Capabilities.GeneralDeviceCapabilities?.DeviceManufacturer == LlrpVendor.Impinj;
        var reportSpec = BuildReportSpec(impinj);

        // 3. Reset to factory defaults, then keepalives, events and the default report spec.
        await RequestAsync(link, LlrpMessageType.SetReaderConfigResponse, "SET_READER_CONFIG", (w, id) => LlrpEncoder.SetReaderConfig(w, id, new SetReaderConfig
        {
            ResetToFactoryDefaults = true,
            KeepaliveSpec = new KeepaliveSpec(1, (uint)Settings.KeepaliveInterval.TotalMilliseconds),
            ReaderEventNotificationSpec = new ReaderEventNotificationSpec(
            [
                new EventNotificationState(0, false), // hopping
                new EventNotificationState(1, false), // GPI
                new EventNotificationState(2, true), // ROSpec start/end
                new EventNotificationState(3, true), // report buffer fill warning
                new EventNotificationState(4, true), // reader exception
                new EventNotificationState(5, false), // RF survey
                new EventNotificationState(6, false), // AISpec
                new EventNotificationState(7, false), // AISpec with details
                new EventNotificationState(8, true), // antenna connected/disconnected
            ]),
            ROReportSpec = reportSpec,
        }), cancellationToken);

        // 4. Replace whatever ROSpec a previous client left: DELETE_ROSPEC 0 deletes all.
        await RequestAsync(link, LlrpMessageType.DeleteROSpecResponse, "DELETE_ROSPEC", (w, id) => LlrpEncoder.ROSpecRequest(w, LlrpMessageType.DeleteROSpec, id, 0), cancellationToken);

        var spec = BuildROSpec(reportSpec, impinj);
        await RequestAsync(link, LlrpMessageType.AddROSpecResponse, "ADD_ROSPEC", (w, id) => LlrpEncoder.AddROSpec(w, id, spec), cancellationToken);
        await RequestAsync(link, LlrpMessageType.EnableROSpecResponse, "ENABLE_ROSPEC", (w, id) => LlrpEncoder.ROSpecRequest(w, LlrpMessageType.EnableROSpec, id, ROSpecId), cancellationToken);

        // 5. A null start trigger waits for START_ROSPEC; immediate and periodic triggers start by themselves.
        if (spec.StartTrigger == ROSpecStartTriggerType.Null)
        {
            await RequestAsync(link, LlrpMessageType.StartROSpecResponse, "START_ROSPEC", (w, id) => LlrpEncoder.ROSpecRequest(w, LlrpMessageType.StartROSpec, id, ROSpecId), cancellationToken);
        }
    }

    /// <summary>The report spec: every N tags, or at the end of each periodic ROSpec run when a report interval is set.</summary>
    internal ROReportSpec BuildReportSpec(bool impinj)
    {
        var selector = new TagReportContentSelector(
            EnableROSpecId: false,
            EnableSpecIndex: false,
            EnableInventoryParamSpecId: false,
            EnableAntennaId: true,
            EnableChannelIndex: true,
            EnablePeakRssi: true,
            EnableFirstSeenTimestamp: true,
            EnableLastSeenTimestamp: true,
            EnableTagSeenCount: true,
            EnableAccessSpecId: false,
            C1G2EpcMemorySelector: null,
            Custom: []);
        return Settings.ReportInterval is null
            ? new ROReportSpec((byte)ROReportTriggerType.UponNTagsOrEndOfROSpec, Settings.ReportEveryNTags, selector, impinj ? [LlrpEncoder.ImpinjPeakRssiSelector()] : [])
            : new ROReportSpec((byte)ROReportTriggerType.UponNTagsOrEndOfROSpec, 0, selector, impinj ? [LlrpEncoder.ImpinjPeakRssiSelector()] : []);
    }

    /// <summary>The ROSpec built from settings: antennas, power, session, search mode, trigger.</summary>
    internal ROSpec BuildROSpec(ROReportSpec reportSpec, bool impinj)
    {
        ushort? powerIndex = null;
        if (Settings.TransmitPowerDbm is { } dbm && Capabilities?.RegulatoryCapabilities?.UhfBandCapabilities?.TransmitPowerLevels is { Count: > 0 } levels)
        {
            var wanted = (int)Math.Round(dbm * 100);
            var best = levels.MinBy(l => Math.Abs(l.TransmitPowerValue - wanted))!;
            powerIndex = best.Index;
            if (Math.Abs(best.TransmitPowerValue - wanted) > 50)
            {
                Logger.LogWarning("Reader {Reader}: {Wanted} dBm is not available; using {Used} dBm.", ReaderId, dbm, best.TransmitPowerValue / 100.0);
            }
        }

        var antennas = Settings.Antennas.Count == 0 ? [(ushort)0] : Settings.Antennas.ToArray();
        var custom = impinj && Settings.SearchMode is { } mode ? new[] { LlrpEncoder.ImpinjSearchMode(mode) } : [];
        var configurations = antennas.Select(a => new AntennaConfiguration(
            a,
            null,
            powerIndex is { } p ? new RfTransmitter(1, 0, p) : null,
            new C1G2InventoryCommand(false, null, new C1G2SingulationControl(Settings.Session, Settings.TagPopulation, 0), custom),
            [])).ToArray();

        var periodic = Settings.ReportInterval is { } interval;
        var periodMs = periodic ? (uint)Settings.ReportInterval!.Value.TotalMilliseconds : 0;
        return new ROSpec
        {
            ROSpecId = ROSpecId,
            StartTrigger = periodic ? ROSpecStartTriggerType.Periodic : ROSpecStartTriggerType.Null,
            PeriodMs = periodMs,
            StopTrigger = periodic ? ROSpecStopTriggerType.Duration : ROSpecStopTriggerType.Null,
            StopDurationMs = periodMs,
            AntennaIds = antennas,
            AntennaConfigurations = configurations,
            ROReportSpec = reportSpec,
        };
    }

    private async Task RequestAsync(Link link, LlrpMessageType responseType, string what, Action<LlrpWriter, uint> build, CancellationToken cancellationToken)
    {
        var id = NextId();
        await SendAsync(link, w => build(w, id), cancellationToken);
        using var response = await AwaitResponseAsync(link, id, responseType, cancellationToken);
        var status = Decode(() => LlrpDecoder.DecodeStatusResponse(response.Body), responseType.ToString()).LlrpStatus;
        Check(status, what);
    }

    private async Task<LlrpMessage> AwaitResponseAsync(Link link, uint id, LlrpMessageType responseType, CancellationToken cancellationToken)
    {
        while (true)
        {
            var message = await ReadAsync(link, Settings.ResponseTimeout, $"waiting for {responseType}", cancellationToken);
            if (message.Header.MessageId == id && message.Header.Type == responseType)
            {
                return message;
            }

            using (message)
            {
                if (message.Header.Type == LlrpMessageType.ErrorMessage && message.Header.MessageId == id)
                {
                    var status = Decode(() => LlrpDecoder.DecodeStatusResponse(message.Body), "ERROR_MESSAGE").LlrpStatus;
                    throw new ReaderLinkException($"LLRP reader {_host}:{_port} could not process the request for {responseType}: {status.Describe()}.");
                }

                await DispatchAsync(link, message, cancellationToken);
            }
        }
    }

    private void Check(LlrpStatus status, string what)
    {
        if (!status.IsSuccess)
        {
            throw new ReaderLinkException($"LLRP reader {_host}:{_port} refused {what}: {status.Describe()}.");
        }
    }

    private T Decode<T>(Func<T> decode, string what)
    {
        try
        {
            return decode();
        }
        catch (LlrpFormatException ex)
        {
            Counters.Rejected();
            throw new ReaderLinkException($"LLRP reader {_host}:{_port} sent a malformed {what}: {ex.Message}", ex);
        }
    }

    private static string Describe(ConnectionAttemptStatus status) => status switch
    {
        ConnectionAttemptStatus.FailedClientInitiatedConnectionExists => "another client is connected (reader busy)",
        ConnectionAttemptStatus.FailedReaderInitiatedConnectionExists => "the reader holds a connection it initiated",
        ConnectionAttemptStatus.FailedOther => "refused for another reason",
        _ => $"status {(ushort)status}",
    };
}
