using System.Buffers.Binary;
using EdgeStream.Llrp.Model;

namespace EdgeStream.Llrp;

/// <summary>
/// Decodes LLRP message bodies (the bytes after the header) into the typed model. Every decoder
/// skips parameters it does not know, vendor Custom parameters included (kept raw), and throws
/// <see cref="LlrpFormatException"/> for anything structurally wrong: it never reads past a
/// parameter's declared length.
/// </summary>
public static partial class LlrpDecoder
{
    /// <summary>Decodes a response that starts with LLRPStatus (any *_RESPONSE, or ERROR_MESSAGE).</summary>
    public static StatusResponse DecodeStatusResponse(ReadOnlySpan<byte> body)
    {
        var reader = new LlrpParameterReader(body, "response");
        while (reader.TryRead(out var p))
        {
            if (p.Type == LlrpParameterType.LlrpStatus)
            {
                return new StatusResponse(DecodeStatus(p));
            }
        }

        throw new LlrpFormatException("response: no LLRPStatus parameter.");
    }

    /// <summary>Decodes an LLRPStatus parameter.</summary>
    public static LlrpStatus DecodeStatus(LlrpParameter p)
    {
        var f = p.Fields();
        var code = f.ReadU16();
        var description = f.ReadUtf8V();
        FieldError? fieldError = null;
        ParameterError? parameterError = null;
        var children = new LlrpParameterReader(f.Remaining, "LLRPStatus");
        while (children.TryRead(out var c))
        {
            switch (c.Type)
            {
                case LlrpParameterType.FieldError:
                    fieldError = DecodeFieldError(c);
                    break;
                case LlrpParameterType.ParameterError:
                    parameterError = DecodeParameterError(c, 0);
                    break;
            }
        }

        return new LlrpStatus(code, description, fieldError, parameterError);
    }

    private static FieldError DecodeFieldError(LlrpParameter p)
    {
        var f = p.Fields();
        return new FieldError(f.ReadU16(), f.ReadU16());
    }

    private static ParameterError DecodeParameterError(LlrpParameter p, int depth)
    {
        // ParameterError nests; a hostile message could nest it until the stack runs out.
        if (depth > 16)
        {
            throw new LlrpFormatException("ParameterError: nested more than 16 deep.");
        }

        var f = p.Fields();
        var type = f.ReadU16();
        var code = f.ReadU16();
        FieldError? fieldError = null;
        ParameterError? nested = null;
        var children = new LlrpParameterReader(f.Remaining, "ParameterError");
        while (children.TryRead(out var c))
        {
            if (c.Type == LlrpParameterType.FieldError)
            {
                fieldError = DecodeFieldError(c);
            }
            else if (c.Type == LlrpParameterType.ParameterError)
            {
                nested = DecodeParameterError(c, depth + 1);
            }
        }

        return new ParameterError(type, code, fieldError, nested);
    }

    /// <summary>Decodes a Custom parameter into its raw form.</summary>
    public static CustomParameter DecodeCustom(LlrpParameter p)
    {
        p.ReadCustom(out var vendor, out var subtype, out var data);
        return new CustomParameter(vendor, subtype, data.ToArray());
    }

    /// <summary>Decodes READER_EVENT_NOTIFICATION.</summary>
    public static ReaderEventNotificationData DecodeReaderEventNotification(ReadOnlySpan<byte> body)
    {
        var reader = new LlrpParameterReader(body, "READER_EVENT_NOTIFICATION");
        while (reader.TryRead(out var p))
        {
            if (p.Type == LlrpParameterType.ReaderEventNotificationData)
            {
                return DecodeReaderEventNotificationData(p);
            }
        }

        throw new LlrpFormatException("READER_EVENT_NOTIFICATION: no ReaderEventNotificationData parameter.");
    }

    private static ReaderEventNotificationData DecodeReaderEventNotificationData(LlrpParameter p)
    {
        var data = new ReaderEventNotificationData();
        var custom = new List<CustomParameter>();
        var children = p.Children(0);
        while (children.TryRead(out var c))
        {
            var f = c.Fields();
            data = c.Type switch
            {
                LlrpParameterType.UtcTimestamp => data with { UtcTimestamp = f.ReadU64() },
                LlrpParameterType.Uptime => data with { Uptime = f.ReadU64() },
                LlrpParameterType.HoppingEvent => data with { HoppingEvent = new HoppingEvent(f.ReadU16(), f.ReadU16()) },
                LlrpParameterType.GpiEvent => data with { GpiEvent = new GpiEvent(f.ReadU16(), (f.ReadU8() & 0x80) != 0) },
                LlrpParameterType.ROSpecEvent => data with { ROSpecEvent = new ROSpecEvent(f.ReadU8(), f.ReadU32(), f.ReadU32()) },
                LlrpParameterType.ReportBufferLevelWarningEvent => data with { ReportBufferLevelWarningEvent = new ReportBufferLevelWarningEvent(f.ReadU8()) },
                LlrpParameterType.ReportBufferOverflowErrorEvent => data with { ReportBufferOverflowErrorEvent = new ReportBufferOverflowErrorEvent() },
                LlrpParameterType.ReaderExceptionEvent => data with { ReaderExceptionEvent = new ReaderExceptionEvent(f.ReadUtf8V()) },
                LlrpParameterType.RfSurveyEvent => data with { RfSurveyEvent = new RfSurveyEvent(f.ReadU8(), f.ReadU32(), f.ReadU16()) },
                LlrpParameterType.AISpecEvent => data with { AISpecEvent = new AISpecEvent(f.ReadU8(), f.ReadU32(), f.ReadU16()) },
                LlrpParameterType.AntennaEvent => data with { AntennaEvent = new AntennaEvent(f.ReadU8(), f.ReadU16()) },
                LlrpParameterType.ConnectionAttemptEvent => data with { ConnectionAttemptEvent = new ConnectionAttemptEvent((ConnectionAttemptStatus)f.ReadU16()) },
                LlrpParameterType.ConnectionCloseEvent => data with { ConnectionCloseEvent = new ConnectionCloseEvent() },
                _ => data,
            };
            if (c.Type == LlrpParameterType.Custom)
            {
                custom.Add(DecodeCustom(c));
            }
        }

        return data with { Custom = custom };
    }

    /// <summary>Decodes RO_ACCESS_REPORT into the full model (allocates; for tools and tests).</summary>
    public static ROAccessReport DecodeROAccessReport(ReadOnlySpan<byte> body)
    {
        var tags = new List<TagReportData>();
        var custom = new List<CustomParameter>();
        var reader = new LlrpParameterReader(body, "RO_ACCESS_REPORT");
        while (reader.TryRead(out var p))
        {
            if (p.Type == LlrpParameterType.TagReportData)
            {
                tags.Add(DecodeTagReportData(p));
            }
            else if (p.Type == LlrpParameterType.Custom)
            {
                custom.Add(DecodeCustom(p));
            }
        }

        return new ROAccessReport(tags, custom);
    }

    private static TagReportData DecodeTagReportData(LlrpParameter p)
    {
        var t = new TagReportData();
        var custom = new List<CustomParameter>();
        var children = p.Children(0);
        while (children.TryRead(out var c))
        {
            var f = c.Fields();
            switch (c.Type)
            {
                case LlrpParameterType.Epc96: t = t with { Epc96 = new Epc96(f.Take(12).ToArray()) }; break;
                case LlrpParameterType.EpcData:
                    var bits = f.ReadU16();
                    t = t with { EpcData = new EpcData(bits, f.Take((bits + 7) / 8).ToArray()) };
                    break;
                case LlrpParameterType.ROSpecId: t = t with { ROSpecId = f.ReadU32() }; break;
                case LlrpParameterType.SpecIndex: t = t with { SpecIndex = f.ReadU16() }; break;
                case LlrpParameterType.InventoryParameterSpecId: t = t with { InventoryParameterSpecId = f.ReadU16() }; break;
                case LlrpParameterType.AntennaId: t = t with { AntennaId = f.ReadU16() }; break;
                case LlrpParameterType.PeakRssi: t = t with { PeakRssi = f.ReadS8() }; break;
                case LlrpParameterType.ChannelIndex: t = t with { ChannelIndex = f.ReadU16() }; break;
                case LlrpParameterType.FirstSeenTimestampUtc: t = t with { FirstSeenUtc = f.ReadU64() }; break;
                case LlrpParameterType.FirstSeenTimestampUptime: t = t with { FirstSeenUptime = f.ReadU64() }; break;
                case LlrpParameterType.LastSeenTimestampUtc: t = t with { LastSeenUtc = f.ReadU64() }; break;
                case LlrpParameterType.LastSeenTimestampUptime: t = t with { LastSeenUptime = f.ReadU64() }; break;
                case LlrpParameterType.TagSeenCount: t = t with { TagSeenCount = f.ReadU16() }; break;
                case LlrpParameterType.C1G2Pc: t = t with { C1G2Pc = f.ReadU16() }; break;
                case LlrpParameterType.C1G2XpcW1: t = t with { C1G2XpcW1 = f.ReadU16() }; break;
                case LlrpParameterType.C1G2XpcW2: t = t with { C1G2XpcW2 = f.ReadU16() }; break;
                case LlrpParameterType.C1G2Crc: t = t with { C1G2Crc = f.ReadU16() }; break;
                case LlrpParameterType.AccessSpecId: t = t with { AccessSpecId = f.ReadU32() }; break;
                case LlrpParameterType.Custom:
                    var cp = DecodeCustom(c);
                    custom.Add(cp);
                    if (cp.VendorId == LlrpVendor.Impinj && cp.Subtype == LlrpVendor.ImpinjPeakRssi && cp.Data.Length >= 2)
                    {
                        t = t with { ImpinjPeakRssi = BinaryPrimitives.ReadInt16BigEndian(cp.Data) };
                    }

                    break;
            }
        }

        return t with { Custom = custom };
    }

    /// <summary>True when an ImpinjTagReportContentSelector's data holds ImpinjEnablePeakRSSI with a non-zero mode.</summary>
    public static bool ImpinjSelectorEnablesPeakRssi(ReadOnlySpan<byte> selectorData)
    {
        try
        {
            var reader = new LlrpParameterReader(selectorData, "ImpinjTagReportContentSelector");
            while (reader.TryRead(out var p))
            {
                if (p.Type == LlrpParameterType.Custom)
                {
                    p.ReadCustom(out var vendor, out var subtype, out var data);
                    if (vendor == LlrpVendor.Impinj && subtype == LlrpVendor.ImpinjEnablePeakRssi && data.Length >= 2)
                    {
                        return BinaryPrimitives.ReadUInt16BigEndian(data) != 0;
                    }
                }
            }
        }
        catch (LlrpFormatException)
        {
            return false;
        }

        return false;
    }

    /// <summary>Reads the ROSpecID of DELETE/ENABLE/START/STOP/DISABLE_ROSPEC.</summary>
    public static uint DecodeROSpecId(ReadOnlySpan<byte> body) => new LlrpSpanReader(body, "ROSpec request").ReadU32();

}
