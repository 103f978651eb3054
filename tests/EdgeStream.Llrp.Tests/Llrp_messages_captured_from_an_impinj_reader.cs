using System.Text.Json;
using EdgeStream.Contracts;
using EdgeStream.Llrp;
using EdgeStream.Llrp.Model;

namespace EdgeStream.Llrp.Tests;

/// <summary>Every captured Impinj message decodes exactly as its JSON rendering says.</summary>
[Trait("Capability", "Readers")]
public sealed class Llrp_messages_captured_from_an_impinj_reader
{
    public static TheoryData<string> AllFixtures() => new(Fixtures.Names(string.Empty));

    [Theory]
    [MemberData(nameof(AllFixtures))]
    public void Fixture_decodes_as_its_json_says(string name)
    {
        var body = Fixtures.Bytes(name);
        object decoded = name.Split('-')[0] switch
        {
            "ROAccessReport" => LlrpDecoder.DecodeROAccessReport(body),
            "ReaderEventNotification" => new { ReaderEventNotificationData = LlrpDecoder.DecodeReaderEventNotification(body) },
            "GetReaderCapabilitiesResponse" => LlrpDecoder.DecodeReaderCapabilities(body),
            "GetReaderConfigResponse" => LlrpDecoder.DecodeReaderConfig(body),
            "CloseConnectionResponse" or "GetROSpecsResponse" or "GetAccessSpecsResponse" => LlrpDecoder.DecodeStatusResponse(body),
            var other => throw new InvalidOperationException($"No decoder for fixture kind {other}."),
        };

        using var expected = JsonDocument.Parse(Fixtures.Json(name));
        using var actual = JsonDocument.Parse(JsonSerializer.Serialize(decoded, decoded.GetType()));
        var compared = JsonShape.AssertMatches(expected.RootElement, actual.RootElement);
        Assert.True(compared > 3, $"only {compared} fields compared");
    }

    public static TheoryData<string> Reports() => new(Fixtures.Names("ROAccessReport"));

    [Theory]
    [MemberData(nameof(Reports))]
    public void Report_fast_path_yields_the_json_epc_antenna_rssi_and_time(string name)
    {
        using var json = JsonDocument.Parse(Fixtures.Json(name));
        var expected = json.RootElement.GetProperty("TagReportData")[0];
        var reader = new RoAccessReportReader(Fixtures.Bytes(name));

        Assert.True(reader.TryRead(out var read));
        Assert.Equal(Convert.ToHexString(Convert.FromBase64String(expected.GetProperty("EPC96").GetProperty("EPC").GetString()!)), read.Epc.ToString());
        Assert.Equal(96, read.Epc.BitLength);
        Assert.Equal(expected.GetProperty("AntennaID").GetUInt16(), read.AntennaId);
        Assert.Equal(expected.GetProperty("PeakRSSI").GetInt16() * 100, read.RssiCentiDbm);
        Assert.Equal(expected.GetProperty("FirstSeenUTC").GetUInt64(), read.FirstSeenUtc);
        Assert.False(reader.TryRead(out _));
    }

    [Theory]
    [MemberData(nameof(Reports))]
    public void Report_encodes_to_the_captured_bytes(string name)
    {
        var tag = LlrpDecoder.DecodeROAccessReport(Fixtures.Bytes(name)).TagReportData[0];
        var w = new LlrpWriter();
        var m = w.BeginMessage(LlrpMessageType.ROAccessReport, 7);
        LlrpEncoder.WriteTagReportData(w, tag.Epc96!.Epc, 96, tag.AntennaId, tag.PeakRssi, tag.FirstSeenUtc);
        w.EndMessage(m);

        Assert.Equal(Convert.ToHexString(Fixtures.Bytes(name)), Convert.ToHexString(w.WrittenSpan[LlrpHeader.Size..]));
    }

    [Fact]
    public void Connection_close_notification_and_status_response_encode_to_the_captured_bytes()
    {
        var w = new LlrpWriter();
        LlrpEncoder.ReaderEventNotification(w, 1, 1596721689842138, new ReaderEventNotificationData { ConnectionCloseEvent = new ConnectionCloseEvent() });
        Assert.Equal(Convert.ToHexString(Fixtures.Bytes("ReaderEventNotification-000")), Convert.ToHexString(w.WrittenSpan[LlrpHeader.Size..]));

        w.Reset();
        LlrpEncoder.StatusResponse(w, LlrpMessageType.CloseConnectionResponse, 2);
        Assert.Equal(Convert.ToHexString(Fixtures.Bytes("CloseConnectionResponse-000")), Convert.ToHexString(w.WrittenSpan[LlrpHeader.Size..]));
    }

    [Fact]
    public void Capabilities_carry_the_impinj_identity_and_power_table()
    {
        var caps = LlrpDecoder.DecodeReaderCapabilities(Fixtures.Bytes("GetReaderCapabilitiesResponse-000"));

        Assert.True(caps.LlrpStatus.IsSuccess);
        Assert.Equal(LlrpVendor.Impinj, caps.GeneralDeviceCapabilities!.DeviceManufacturer);
        Assert.Equal("5.14.0.240", caps.GeneralDeviceCapabilities.FirmwareVersion);
        Assert.Equal(81, caps.RegulatoryCapabilities!.UhfBandCapabilities!.TransmitPowerLevels.Count);
        Assert.Equal(1000, caps.RegulatoryCapabilities.UhfBandCapabilities.TransmitPowerLevels[0].TransmitPowerValue);
    }
}
