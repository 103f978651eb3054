using System.IO.Pipelines;
using EdgeStream.Llrp;
using EdgeStream.Llrp.Model;

namespace EdgeStream.Llrp.Tests;

/// <summary>Round trips of the messages the client sends, and framing across segment boundaries.</summary>
[Trait("Capability", "Readers")]
public sealed class Llrp_codec
{
    [Fact]
    public void Add_rospec_round_trips_antennas_power_session_search_mode_and_report_spec()
    {
        var spec = new ROSpec
        {
            ROSpecId = 7,
            StartTrigger = ROSpecStartTriggerType.Periodic,
            PeriodMs = 500,
            StopTrigger = ROSpecStopTriggerType.Duration,
            StopDurationMs = 500,
            AntennaIds = [1, 3],
            AntennaConfigurations =
            [
                new AntennaConfiguration(1, null, new RfTransmitter(1, 0, 61), new C1G2InventoryCommand(false, null, new C1G2SingulationControl(2, 32, 0), [LlrpEncoder.ImpinjSearchMode(2)]), []),
            ],
            ROReportSpec = new ROReportSpec(2, 0, new TagReportContentSelector(false, false, false, true, true, true, true, true, true, false, null, []), [LlrpEncoder.ImpinjPeakRssiSelector()]),
        };
        var w = new LlrpWriter();
        LlrpEncoder.AddROSpec(w, 42, spec);

        Assert.True(LlrpHeader.TryRead(w.WrittenSpan, out var header));
        Assert.Equal(LlrpMessageType.AddROSpec, header.Type);
        Assert.Equal(42u, header.MessageId);
        Assert.Equal(w.Length, header.Length);
        var decoded = LlrpDecoder.DecodeAddROSpec(w.WrittenSpan[LlrpHeader.Size..]);
        Assert.Equal(7u, decoded.ROSpecId);
        Assert.Equal(ROSpecStartTriggerType.Periodic, decoded.StartTrigger);
        Assert.Equal(500u, decoded.PeriodMs);
        Assert.Equal(ROSpecStopTriggerType.Duration, decoded.StopTrigger);
        Assert.Equal([(ushort)1, (ushort)3], decoded.AntennaIds);
        var antenna = Assert.Single(decoded.AntennaConfigurations);
        Assert.Equal(61, antenna.RfTransmitter!.TransmitPowerIndex);
        Assert.Equal(2, antenna.C1G2InventoryCommand!.SingulationControl!.Session);
        Assert.Equal((ushort)2, antenna.C1G2InventoryCommand.ImpinjSearchMode);
        Assert.Equal(2, decoded.ROReportSpec!.Trigger);
        Assert.True(decoded.ROReportSpec.TagReportContentSelector!.EnableFirstSeenTimestamp);
        Assert.True(decoded.ROReportSpec.ImpinjPeakRssiEnabled);
    }

    [Fact]
    public void Set_reader_config_round_trips_reset_keepalive_and_events()
    {
        var w = new LlrpWriter();
        LlrpEncoder.SetReaderConfig(w, 3, new SetReaderConfig
        {
            ResetToFactoryDefaults = true,
            KeepaliveSpec = new KeepaliveSpec(1, 2000),
            ReaderEventNotificationSpec = new ReaderEventNotificationSpec([new EventNotificationState(2, true), new EventNotificationState(8, false)]),
            ROReportSpec = new ROReportSpec(1, 5, null, []),
            EventsAndReports = false,
        });

        var decoded = LlrpDecoder.DecodeSetReaderConfig(w.WrittenSpan[LlrpHeader.Size..]);
        Assert.True(decoded.ResetToFactoryDefaults);
        Assert.Equal(new KeepaliveSpec(1, 2000), decoded.KeepaliveSpec);
        Assert.Equal(2, decoded.ReaderEventNotificationSpec!.EventNotificationStates.Count);
        Assert.True(decoded.ReaderEventNotificationSpec.EventNotificationStates[0].NotificationEnabled);
        Assert.Equal((ushort)5, decoded.ROReportSpec!.N);
        Assert.False(decoded.EventsAndReports);
    }

    [Fact]
    public void Epc_data_of_any_bit_length_and_impinj_rssi_decode_on_the_fast_path()
    {
        var w = new LlrpWriter();
        var m = w.BeginMessage(LlrpMessageType.ROAccessReport, 1);
        LlrpEncoder.WriteTagReportData(w, [0xAB, 0xCD, 0xE0], 20, 2, -60, 1_700_000_000_000_001, impinjPeakRssi: -6050);
        LlrpEncoder.WriteTagReportData(w, new byte[16], 128, 4, null, null, tagSeenCount: 9);
        w.WriteCustom(12345, 1, [1, 2, 3]); // A vendor parameter beside the tags is skipped.
        w.EndMessage(m);

        var reader = new RoAccessReportReader(w.WrittenSpan[LlrpHeader.Size..]);
        Assert.True(reader.TryRead(out var first));
        Assert.Equal(20, first.Epc.BitLength);
        Assert.Equal("ABCDE0", first.Epc.ToString());
        Assert.Equal(-6050, first.RssiCentiDbm);
        Assert.Equal(1_700_000_000_000_001UL, first.FirstSeenUtc);
        Assert.True(reader.TryRead(out var second));
        Assert.Equal(128, second.Epc.BitLength);
        Assert.Equal(4, second.AntennaId);
        Assert.Equal(9, second.TagSeenCount);
        Assert.Equal(short.MinValue, second.RssiCentiDbm);
        Assert.False(reader.TryRead(out _));
    }

    [Fact]
    public void Vendor_custom_parameters_inside_a_tag_report_are_skipped_safely()
    {
        var w = new LlrpWriter();
        var m = w.BeginMessage(LlrpMessageType.ROAccessReport, 1);
        var t = w.BeginParameter(LlrpParameterType.TagReportData);
        w.WriteTvType(LlrpParameterType.Epc96);
        w.WriteBytes(Convert.FromHexString("3034257BF400B7800004CB2F"));
        w.WriteCustom(4329, 77, [0xDE, 0xAD, 0xBE, 0xEF]); // Some other vendor's extension.
        var nested = w.BeginParameter(LlrpParameterType.Custom); // A custom holding TLVs of its own.
        w.WriteU32(LlrpVendor.Impinj);
        w.WriteU32(999);
        w.WriteCustom(LlrpVendor.Impinj, 1000, [1, 2]);
        w.EndParameter(nested);
        w.WriteTvType(LlrpParameterType.AntennaId);
        w.WriteU16(3);
        w.EndParameter(t);
        w.EndMessage(m);
        var body = w.WrittenSpan[LlrpHeader.Size..].ToArray();

        var reader = new RoAccessReportReader(body);
        Assert.True(reader.TryRead(out var read));
        Assert.Equal(3, read.AntennaId);
        Assert.Equal("3034257BF400B7800004CB2F", read.Epc.ToString());
        var full = Assert.Single(LlrpDecoder.DecodeROAccessReport(body).TagReportData);
        Assert.Equal(2, full.Custom.Count);
        Assert.Equal(4329u, full.Custom[0].VendorId);
        Assert.Equal((ushort)3, full.AntennaId);
    }

    [Fact]
    public void Status_with_field_and_parameter_errors_is_described()
    {
        var w = new LlrpWriter();
        var m = w.BeginMessage(LlrpMessageType.AddROSpecResponse, 9);
        var s = w.BeginParameter(LlrpParameterType.LlrpStatus);
        w.WriteU16((ushort)LlrpStatusCode.ParameterError);
        w.WriteUtf8V("bad antenna");
        var pe = w.BeginParameter(LlrpParameterType.ParameterError);
        w.WriteU16(222);
        w.WriteU16(301);
        w.EndParameter(pe);
        w.EndParameter(s);
        w.EndMessage(m);

        var status = LlrpDecoder.DecodeStatusResponse(w.WrittenSpan[LlrpHeader.Size..]).LlrpStatus;
        Assert.False(status.IsSuccess);
        Assert.Equal("ParameterError: bad antenna (parameter 222, error 301)", status.Describe());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(10)]
    [InlineData(4096)]
    public async Task Framer_reassembles_messages_split_and_coalesced_across_segments(int segment)
    {
        var w = new LlrpWriter();
        for (uint i = 1; i <= 5; i++)
        {
            LlrpEncoder.Empty(w, LlrpMessageType.Keepalive, i);
            var m = w.BeginMessage(LlrpMessageType.ROAccessReport, 100 + i);
            w.WriteBytes(Fixtures.Bytes("ROAccessReport-00" + i));
            w.EndMessage(m);
        }

        var all = w.ToArray();
        var pipe = new Pipe();
        var writer = Task.Run(async () =>
        {
            for (var o = 0; o < all.Length; o += segment)
            {
                await pipe.Writer.WriteAsync(all.AsMemory(o, Math.Min(segment, all.Length - o)));
            }

            await pipe.Writer.CompleteAsync();
        });

        var framer = new LlrpFramer(pipe.Reader);
        var ids = new List<uint>();
        while (await framer.ReadAsync(CancellationToken.None) is { } message)
        {
            using (message)
            {
                ids.Add(message.Header.MessageId);
                if (message.Header.Type == LlrpMessageType.ROAccessReport)
                {
                    var r = new RoAccessReportReader(message.Body);
                    Assert.True(r.TryRead(out _));
                }
            }
        }

        await writer;
        Assert.Equal([1u, 101, 2, 102, 3, 103, 4, 104, 5, 105], ids);
    }

    [Fact]
    public async Task Framer_rejects_a_header_that_is_not_llrp_and_a_stream_cut_mid_message()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(new byte[] { 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0 });
        await pipe.Writer.CompleteAsync();
        var ex = await Assert.ThrowsAsync<LlrpFormatException>(async () => await new LlrpFramer(pipe.Reader).ReadAsync(CancellationToken.None));
        Assert.Contains("version", ex.Message, StringComparison.Ordinal);

        var w = new LlrpWriter();
        LlrpEncoder.StatusResponse(w, LlrpMessageType.CloseConnectionResponse, 1);
        var cut = new Pipe();
        await cut.Writer.WriteAsync(w.WrittenMemory[..^2]);
        await cut.Writer.CompleteAsync();
        await Assert.ThrowsAsync<LlrpFormatException>(async () => await new LlrpFramer(cut.Reader).ReadAsync(CancellationToken.None));
    }
}
