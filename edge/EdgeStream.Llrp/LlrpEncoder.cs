using EdgeStream.Llrp.Model;

namespace EdgeStream.Llrp;

/// <summary>
/// Builds LLRP messages: the client's requests (connection sequence, keepalive acknowledgements,
/// shutdown) and the reader's answers (used by the emulator and by tests). Each method appends one
/// whole message to the writer.
/// </summary>
public static partial class LlrpEncoder
{
    /// <summary>A message with an empty body (KEEPALIVE, KEEPALIVE_ACK, CLOSE_CONNECTION, ENABLE_EVENTS_AND_REPORTS).</summary>
    public static void Empty(LlrpWriter w, LlrpMessageType type, uint messageId) => w.EndMessage(w.BeginMessage(type, messageId));

    /// <summary>GET_READER_CAPABILITIES asking for everything (RequestedData 0).</summary>
    public static void GetReaderCapabilities(LlrpWriter w, uint messageId)
    {
        var m = w.BeginMessage(LlrpMessageType.GetReaderCapabilities, messageId);
        w.WriteU8(0);
        w.EndMessage(m);
    }

    /// <summary>A message whose body is one ROSpecID: DELETE/ENABLE/START/STOP/DISABLE_ROSPEC.</summary>
    public static void ROSpecRequest(LlrpWriter w, LlrpMessageType type, uint messageId, uint roSpecId)
    {
        var m = w.BeginMessage(type, messageId);
        w.WriteU32(roSpecId);
        w.EndMessage(m);
    }

    /// <summary>SET_READER_CONFIG.</summary>
    public static void SetReaderConfig(LlrpWriter w, uint messageId, SetReaderConfig config)
    {
        var m = w.BeginMessage(LlrpMessageType.SetReaderConfig, messageId);
        w.WriteU8(config.ResetToFactoryDefaults ? (byte)0x80 : (byte)0);
        if (config.ReaderEventNotificationSpec is { } events)
        {
            var p = w.BeginParameter(LlrpParameterType.ReaderEventNotificationSpec);
            foreach (var s in events.EventNotificationStates)
            {
                var e = w.BeginParameter(LlrpParameterType.EventNotificationState);
                w.WriteU16(s.ReaderEventType);
                w.WriteU8(s.NotificationEnabled ? (byte)0x80 : (byte)0);
                w.EndParameter(e);
            }

            w.EndParameter(p);
        }

        foreach (var a in config.AntennaConfigurations)
        {
            WriteAntennaConfiguration(w, a);
        }

        if (config.ROReportSpec is { } report)
        {
            WriteROReportSpec(w, report);
        }

        if (config.KeepaliveSpec is { } keepalive)
        {
            var p = w.BeginParameter(LlrpParameterType.KeepaliveSpec);
            w.WriteU8(keepalive.Trigger);
            w.WriteU32(keepalive.Interval);
            w.EndParameter(p);
        }

        if (config.EventsAndReports is { } hold)
        {
            var p = w.BeginParameter(LlrpParameterType.EventsAndReports);
            w.WriteU8(hold ? (byte)0x80 : (byte)0);
            w.EndParameter(p);
        }

        w.EndMessage(m);
    }

    /// <summary>ADD_ROSPEC.</summary>
    public static void AddROSpec(LlrpWriter w, uint messageId, ROSpec spec)
    {
        var m = w.BeginMessage(LlrpMessageType.AddROSpec, messageId);
        var r = w.BeginParameter(LlrpParameterType.ROSpec);
        w.WriteU32(spec.ROSpecId);
        w.WriteU8(spec.Priority);
        w.WriteU8(spec.CurrentState);

        var boundary = w.BeginParameter(LlrpParameterType.ROBoundarySpec);
        var start = w.BeginParameter(LlrpParameterType.ROSpecStartTrigger);
        w.WriteU8((byte)spec.StartTrigger);
        if (spec.StartTrigger == ROSpecStartTriggerType.Periodic)
        {
            var periodic = w.BeginParameter(LlrpParameterType.PeriodicTriggerValue);
            w.WriteU32(spec.PeriodicOffsetMs);
            w.WriteU32(spec.PeriodMs);
            w.EndParameter(periodic);
        }

        w.EndParameter(start);
        var stop = w.BeginParameter(LlrpParameterType.ROSpecStopTrigger);
        w.WriteU8((byte)spec.StopTrigger);
        w.WriteU32(spec.StopDurationMs);
        w.EndParameter(stop);
        w.EndParameter(boundary);

        var ai = w.BeginParameter(LlrpParameterType.AISpec);
        w.WriteU16((ushort)spec.AntennaIds.Count);
        foreach (var a in spec.AntennaIds)
        {
            w.WriteU16(a);
        }

        var aiStop = w.BeginParameter(LlrpParameterType.AISpecStopTrigger);
        w.WriteU8(spec.AISpecStopTrigger);
        w.WriteU32(spec.AISpecStopDurationMs);
        w.EndParameter(aiStop);

        var inventory = w.BeginParameter(LlrpParameterType.InventoryParameterSpec);
        w.WriteU16(spec.InventoryParameterSpecId);
        w.WriteU8(1); // ProtocolID 1: EPCglobal Class 1 Gen 2.
        foreach (var a in spec.AntennaConfigurations)
        {
            WriteAntennaConfiguration(w, a);
        }

        w.EndParameter(inventory);
        w.EndParameter(ai);

        if (spec.ROReportSpec is { } report)
        {
            WriteROReportSpec(w, report);
        }

        w.EndParameter(r);
        w.EndMessage(m);
    }

    /// <summary>Writes an AntennaConfiguration parameter.</summary>
    public static void WriteAntennaConfiguration(LlrpWriter w, AntennaConfiguration a)
    {
        var p = w.BeginParameter(LlrpParameterType.AntennaConfiguration);
        w.WriteU16(a.AntennaId);
        if (a.RfReceiver is { } sensitivity)
        {
            var r = w.BeginParameter(LlrpParameterType.RfReceiver);
            w.WriteU16(sensitivity);
            w.EndParameter(r);
        }

        if (a.RfTransmitter is { } tx)
        {
            var t = w.BeginParameter(LlrpParameterType.RfTransmitter);
            w.WriteU16(tx.HopTableId);
            w.WriteU16(tx.ChannelIndex);
            w.WriteU16(tx.TransmitPowerIndex);
            w.EndParameter(t);
        }

        if (a.C1G2InventoryCommand is { } inv)
        {
            var c = w.BeginParameter(LlrpParameterType.C1G2InventoryCommand);
            w.WriteU8(inv.TagInventoryStateAware ? (byte)0x80 : (byte)0);
            if (inv.RfControl is { } rf)
            {
                var x = w.BeginParameter(LlrpParameterType.C1G2RfControl);
                w.WriteU16(rf.RfModeId);
                w.WriteU16(rf.Tari);
                w.EndParameter(x);
            }

            if (inv.SingulationControl is { } s)
            {
                var x = w.BeginParameter(LlrpParameterType.C1G2SingulationControl);
                w.WriteU8((byte)((s.Session & 0x3) << 6));
                w.WriteU16(s.TagPopulation);
                w.WriteU32(s.TagTransitTime);
                w.EndParameter(x);
            }

            foreach (var custom in inv.Custom)
            {
                w.WriteCustom(custom.VendorId, custom.Subtype, custom.Data);
            }

            w.EndParameter(c);
        }

        foreach (var custom in a.Custom)
        {
            w.WriteCustom(custom.VendorId, custom.Subtype, custom.Data);
        }

        w.EndParameter(p);
    }

    /// <summary>Writes an ROReportSpec parameter.</summary>
    public static void WriteROReportSpec(LlrpWriter w, ROReportSpec spec)
    {
        var p = w.BeginParameter(LlrpParameterType.ROReportSpec);
        w.WriteU8(spec.Trigger);
        w.WriteU16(spec.N);
        if (spec.TagReportContentSelector is { } s)
        {
            var c = w.BeginParameter(LlrpParameterType.TagReportContentSelector);
            var flags = 0;
            void Set(bool on, int bit) => flags |= on ? 1 << bit : 0;
            Set(s.EnableROSpecId, 15);
            Set(s.EnableSpecIndex, 14);
            Set(s.EnableInventoryParamSpecId, 13);
            Set(s.EnableAntennaId, 12);
            Set(s.EnableChannelIndex, 11);
            Set(s.EnablePeakRssi, 10);
            Set(s.EnableFirstSeenTimestamp, 9);
            Set(s.EnableLastSeenTimestamp, 8);
            Set(s.EnableTagSeenCount, 7);
            Set(s.EnableAccessSpecId, 6);
            w.WriteU16((ushort)flags);
            if (s.C1G2EpcMemorySelector is { } mem)
            {
                var x = w.BeginParameter(LlrpParameterType.C1G2EpcMemorySelector);
                w.WriteU8((byte)((mem.CrcEnabled ? 0x80 : 0) | (mem.PcBitsEnabled ? 0x40 : 0) | (mem.XpcBitsEnabled ? 0x20 : 0)));
                w.EndParameter(x);
            }

            w.EndParameter(c);
        }

        foreach (var custom in spec.Custom)
        {
            w.WriteCustom(custom.VendorId, custom.Subtype, custom.Data);
        }

        w.EndParameter(p);
    }

    /// <summary>The data of an ImpinjTagReportContentSelector that enables Impinj peak RSSI.</summary>
    public static CustomParameter ImpinjPeakRssiSelector()
    {
        var inner = new LlrpWriter(32);
        inner.WriteCustom(LlrpVendor.Impinj, LlrpVendor.ImpinjEnablePeakRssi, [0, 1]);
        return new CustomParameter(LlrpVendor.Impinj, LlrpVendor.ImpinjTagReportContentSelector, inner.ToArray());
    }

    /// <summary>The ImpinjInventorySearchMode custom parameter (0 reader-selected, 1 single target, 2 dual target, 3 single target with suppression).</summary>
    public static CustomParameter ImpinjSearchMode(ushort mode) =>
        new(LlrpVendor.Impinj, LlrpVendor.ImpinjInventorySearchMode, [(byte)(mode >> 8), (byte)mode]);

    // ---- Reader side (emulator, tests) ----

    /// <summary>A response carrying only an LLRPStatus.</summary>
    public static void StatusResponse(LlrpWriter w, LlrpMessageType type, uint messageId, LlrpStatusCode code = LlrpStatusCode.Success, string description = "")
    {
        var m = w.BeginMessage(type, messageId);
        WriteStatus(w, code, description);
        w.EndMessage(m);
    }

    /// <summary>Writes an LLRPStatus parameter.</summary>
    public static void WriteStatus(LlrpWriter w, LlrpStatusCode code, string description)
    {
        var p = w.BeginParameter(LlrpParameterType.LlrpStatus);
        w.WriteU16((ushort)code);
        w.WriteUtf8V(description);
        w.EndParameter(p);
    }

    /// <summary>READER_EVENT_NOTIFICATION with a UTC timestamp and the given events.</summary>
    public static void ReaderEventNotification(LlrpWriter w, uint messageId, ulong utcMicroseconds, ReaderEventNotificationData events)
    {
        var m = w.BeginMessage(LlrpMessageType.ReaderEventNotification, messageId);
        var d = w.BeginParameter(LlrpParameterType.ReaderEventNotificationData);
        var t = w.BeginParameter(LlrpParameterType.UtcTimestamp);
        w.WriteU64(utcMicroseconds);
        w.EndParameter(t);
        if (events.ROSpecEvent is { } ro)
        {
            var p = w.BeginParameter(LlrpParameterType.ROSpecEvent);
            w.WriteU8(ro.EventType);
            w.WriteU32(ro.ROSpecId);
            w.WriteU32(ro.PreemptingROSpecId);
            w.EndParameter(p);
        }

        if (events.ReportBufferLevelWarningEvent is { } warn)
        {
            var p = w.BeginParameter(LlrpParameterType.ReportBufferLevelWarningEvent);
            w.WriteU8(warn.ReportBufferPercentageFull);
            w.EndParameter(p);
        }

        if (events.ReportBufferOverflowErrorEvent is not null)
        {
            w.EndParameter(w.BeginParameter(LlrpParameterType.ReportBufferOverflowErrorEvent));
        }

        if (events.ReaderExceptionEvent is { } ex)
        {
            var p = w.BeginParameter(LlrpParameterType.ReaderExceptionEvent);
            w.WriteUtf8V(ex.Message);
            w.EndParameter(p);
        }

        if (events.AntennaEvent is { } antenna)
        {
            var p = w.BeginParameter(LlrpParameterType.AntennaEvent);
            w.WriteU8(antenna.EventType);
            w.WriteU16(antenna.AntennaId);
            w.EndParameter(p);
        }

        if (events.ConnectionAttemptEvent is { } attempt)
        {
            var p = w.BeginParameter(LlrpParameterType.ConnectionAttemptEvent);
            w.WriteU16((ushort)attempt.Status);
            w.EndParameter(p);
        }

        if (events.ConnectionCloseEvent is not null)
        {
            w.EndParameter(w.BeginParameter(LlrpParameterType.ConnectionCloseEvent));
        }

        foreach (var custom in events.Custom)
        {
            w.WriteCustom(custom.VendorId, custom.Subtype, custom.Data);
        }

        w.EndParameter(d);
        w.EndMessage(m);
    }

    /// <summary>
    /// Appends one TagReportData. EPCs of exactly 96 bits use the EPC-96 TV form, others EPCData;
    /// optional fields are written when given.
    /// </summary>
    public static void WriteTagReportData(
        LlrpWriter w,
        ReadOnlySpan<byte> epc,
        int epcBits,
        ushort? antennaId,
        sbyte? peakRssi,
        ulong? firstSeenUtc,
        ushort? channelIndex = null,
        ushort? tagSeenCount = null,
        ulong? lastSeenUtc = null,
        short? impinjPeakRssi = null)
    {
        var p = w.BeginParameter(LlrpParameterType.TagReportData);
        if (epcBits == 96 && epc.Length == 12)
        {
            w.WriteTvType(LlrpParameterType.Epc96);
            w.WriteBytes(epc);
        }
        else
        {
            var e = w.BeginParameter(LlrpParameterType.EpcData);
            w.WriteU16((ushort)epcBits);
            w.WriteBytes(epc);
            w.EndParameter(e);
        }

        if (antennaId is { } a)
        {
            w.WriteTvType(LlrpParameterType.AntennaId);
            w.WriteU16(a);
        }

        if (peakRssi is { } r)
        {
            w.WriteTvType(LlrpParameterType.PeakRssi);
            w.WriteS8(r);
        }

        if (channelIndex is { } ch)
        {
            w.WriteTvType(LlrpParameterType.ChannelIndex);
            w.WriteU16(ch);
        }

        if (firstSeenUtc is { } first)
        {
            w.WriteTvType(LlrpParameterType.FirstSeenTimestampUtc);
            w.WriteU64(first);
        }

        if (lastSeenUtc is { } last)
        {
            w.WriteTvType(LlrpParameterType.LastSeenTimestampUtc);
            w.WriteU64(last);
        }

        if (tagSeenCount is { } count)
        {
            w.WriteTvType(LlrpParameterType.TagSeenCount);
            w.WriteU16(count);
        }

        if (impinjPeakRssi is { } ip)
        {
            w.WriteCustom(LlrpVendor.Impinj, LlrpVendor.ImpinjPeakRssi, [(byte)(ip >> 8), (byte)ip]);
        }

        w.EndParameter(p);
    }
}
