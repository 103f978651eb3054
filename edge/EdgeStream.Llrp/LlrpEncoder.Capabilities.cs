using EdgeStream.Llrp.Model;

namespace EdgeStream.Llrp;

public static partial class LlrpEncoder
{
    /// <summary>GET_READER_CAPABILITIES_RESPONSE (reader side: the emulator describes itself with it).</summary>
    public static void ReaderCapabilitiesResponse(LlrpWriter w, uint messageId, ReaderCapabilities caps)
    {
        var m = w.BeginMessage(LlrpMessageType.GetReaderCapabilitiesResponse, messageId);
        WriteStatus(w, (LlrpStatusCode)caps.LlrpStatus.Status, caps.LlrpStatus.ErrorDescription);
        if (caps.GeneralDeviceCapabilities is { } g)
        {
            var p = w.BeginParameter(LlrpParameterType.GeneralDeviceCapabilities);
            w.WriteU16(g.MaxSupportedAntennas);
            w.WriteU16((ushort)((g.CanSetAntennaProperties ? 0x8000 : 0) | (g.HasUtcClock ? 0x4000 : 0)));
            w.WriteU32(g.DeviceManufacturer);
            w.WriteU32(g.Model);
            w.WriteUtf8V(g.FirmwareVersion);
            foreach (var s in g.ReceiveSensitivities)
            {
                var e = w.BeginParameter(LlrpParameterType.ReceiveSensitivityTableEntry);
                w.WriteU16(s.Index);
                w.WriteS16(s.ReceiveSensitivity);
                w.EndParameter(e);
            }

            if (g.GpioCapabilities is { } gpio)
            {
                var e = w.BeginParameter(LlrpParameterType.GpioCapabilities);
                w.WriteU16(gpio.NumGpis);
                w.WriteU16(gpio.NumGpos);
                w.EndParameter(e);
            }

            foreach (var a in g.PerAntennaAirProtocols)
            {
                var e = w.BeginParameter(LlrpParameterType.PerAntennaAirProtocol);
                w.WriteU16(a.AntennaId);
                w.WriteU8V(a.AirProtocolIds);
                w.EndParameter(e);
            }

            w.EndParameter(p);
        }

        if (caps.LlrpCapabilities is { } l)
        {
            var p = w.BeginParameter(LlrpParameterType.LlrpCapabilities);
            w.WriteU8((byte)((l.CanDoRfSurvey ? 0x80 : 0) | (l.CanReportBufferFillWarning ? 0x40 : 0) | (l.SupportsClientRequestOpSpec ? 0x20 : 0)
                | (l.CanDoTagInventoryStateAwareSingulation ? 0x10 : 0) | (l.SupportsEventsAndReportHolding ? 0x08 : 0)));
            w.WriteU8(l.MaxPriorityLevelSupported);
            w.WriteU16(l.ClientRequestedOpSpecTimeout);
            w.WriteU32(l.MaxROSpecs);
            w.WriteU32(l.MaxSpecsPerROSpec);
            w.WriteU32(l.MaxInventoryParameterSpecsPerAISpec);
            w.WriteU32(l.MaxAccessSpecs);
            w.WriteU32(l.MaxOpSpecsPerAccessSpec);
            w.EndParameter(p);
        }

        if (caps.RegulatoryCapabilities is { } r)
        {
            var p = w.BeginParameter(LlrpParameterType.RegulatoryCapabilities);
            w.WriteU16(r.CountryCode);
            w.WriteU16(r.CommunicationsStandard);
            if (r.UhfBandCapabilities is { } uhf)
            {
                var u = w.BeginParameter(LlrpParameterType.UhfBandCapabilities);
                foreach (var t in uhf.TransmitPowerLevels)
                {
                    var e = w.BeginParameter(LlrpParameterType.TransmitPowerLevelTableEntry);
                    w.WriteU16(t.Index);
                    w.WriteS16(t.TransmitPowerValue);
                    w.EndParameter(e);
                }

                if (uhf.FrequencyInformation is { } fi)
                {
                    var f = w.BeginParameter(LlrpParameterType.FrequencyInformation);
                    w.WriteU8(fi.Hopping ? (byte)0x80 : (byte)0);
                    foreach (var h in fi.FrequencyHopTables)
                    {
                        var e = w.BeginParameter(LlrpParameterType.FrequencyHopTable);
                        w.WriteU8(h.HopTableId);
                        w.WriteU8(0);
                        w.WriteU16((ushort)h.Frequencies.Length);
                        foreach (var hz in h.Frequencies)
                        {
                            w.WriteU32(hz);
                        }

                        w.EndParameter(e);
                    }

                    w.EndParameter(f);
                }

                w.EndParameter(u);
            }

            w.EndParameter(p);
        }

        if (caps.C1G2LlrpCapabilities is { } c)
        {
            var p = w.BeginParameter(LlrpParameterType.C1G2LlrpCapabilities);
            w.WriteU8((byte)((c.SupportsBlockErase ? 0x80 : 0) | (c.SupportsBlockWrite ? 0x40 : 0) | (c.SupportsBlockPermalock ? 0x20 : 0)
                | (c.SupportsTagRecommissioning ? 0x10 : 0) | (c.SupportsUmiMethod2 ? 0x08 : 0) | (c.SupportsXpc ? 0x04 : 0)));
            w.WriteU16(c.MaxSelectFiltersPerQuery);
            w.EndParameter(p);
        }

        w.EndMessage(m);
    }
}
