using EdgeStream.Llrp.Model;

namespace EdgeStream.Llrp;

public static partial class LlrpDecoder
{
    /// <summary>Decodes GET_READER_CAPABILITIES_RESPONSE.</summary>
    public static ReaderCapabilities DecodeReaderCapabilities(ReadOnlySpan<byte> body)
    {
        LlrpStatus? status = null;
        GeneralDeviceCapabilities? general = null;
        LlrpCapabilities? llrp = null;
        RegulatoryCapabilities? regulatory = null;
        C1G2LlrpCapabilities? c1g2 = null;
        var custom = new List<CustomParameter>();
        var reader = new LlrpParameterReader(body, "GET_READER_CAPABILITIES_RESPONSE");
        while (reader.TryRead(out var p))
        {
            switch (p.Type)
            {
                case LlrpParameterType.LlrpStatus: status = DecodeStatus(p); break;
                case LlrpParameterType.GeneralDeviceCapabilities: general = DecodeGeneral(p); break;
                case LlrpParameterType.LlrpCapabilities: llrp = DecodeLlrpCapabilities(p); break;
                case LlrpParameterType.RegulatoryCapabilities: regulatory = DecodeRegulatory(p); break;
                case LlrpParameterType.C1G2LlrpCapabilities:
                    var f = p.Fields();
                    var flags = f.ReadU8();
                    c1g2 = new C1G2LlrpCapabilities((flags & 0x80) != 0, (flags & 0x40) != 0, (flags & 0x20) != 0, (flags & 0x10) != 0, (flags & 0x08) != 0, (flags & 0x04) != 0, f.ReadU16());
                    break;
                case LlrpParameterType.Custom: custom.Add(DecodeCustom(p)); break;
            }
        }

        return new ReaderCapabilities(
            status ?? throw new LlrpFormatException("GET_READER_CAPABILITIES_RESPONSE: no LLRPStatus parameter."),
            general, llrp, regulatory, c1g2, custom);
    }

    private static GeneralDeviceCapabilities DecodeGeneral(LlrpParameter p)
    {
        var f = p.Fields();
        var maxAntennas = f.ReadU16();
        var flags = f.ReadU16();
        var manufacturer = f.ReadU32();
        var model = f.ReadU32();
        var firmware = f.ReadUtf8V();
        var sensitivities = new List<ReceiveSensitivityEntry>();
        var ranges = new List<PerAntennaReceiveSensitivityRange>();
        var protocols = new List<PerAntennaAirProtocol>();
        GpioCapabilities? gpio = null;
        var children = new LlrpParameterReader(f.Remaining, "GeneralDeviceCapabilities");
        while (children.TryRead(out var c))
        {
            var cf = c.Fields();
            switch (c.Type)
            {
                case LlrpParameterType.ReceiveSensitivityTableEntry: sensitivities.Add(new ReceiveSensitivityEntry(cf.ReadU16(), cf.ReadS16())); break;
                case LlrpParameterType.PerAntennaReceiveSensitivityRange: ranges.Add(new PerAntennaReceiveSensitivityRange(cf.ReadU16(), cf.ReadU16(), cf.ReadU16())); break;
                case LlrpParameterType.GpioCapabilities: gpio = new GpioCapabilities(cf.ReadU16(), cf.ReadU16()); break;
                case LlrpParameterType.PerAntennaAirProtocol: protocols.Add(new PerAntennaAirProtocol(cf.ReadU16(), cf.ReadU8V().ToArray())); break;
            }
        }

        return new GeneralDeviceCapabilities(maxAntennas, (flags & 0x8000) != 0, (flags & 0x4000) != 0, manufacturer, model, firmware, sensitivities, ranges, gpio, protocols);
    }

    private static LlrpCapabilities DecodeLlrpCapabilities(LlrpParameter p)
    {
        var f = p.Fields();
        var flags = f.ReadU8();
        return new LlrpCapabilities(
            (flags & 0x80) != 0, (flags & 0x40) != 0, (flags & 0x20) != 0, (flags & 0x10) != 0, (flags & 0x08) != 0,
            f.ReadU8(), f.ReadU16(), f.ReadU32(), f.ReadU32(), f.ReadU32(), f.ReadU32(), f.ReadU32());
    }

    private static RegulatoryCapabilities DecodeRegulatory(LlrpParameter p)
    {
        var f = p.Fields();
        var country = f.ReadU16();
        var standard = f.ReadU16();
        UhfBandCapabilities? uhf = null;
        var custom = new List<CustomParameter>();
        var children = new LlrpParameterReader(f.Remaining, "RegulatoryCapabilities");
        while (children.TryRead(out var c))
        {
            if (c.Type == LlrpParameterType.UhfBandCapabilities)
            {
                uhf = DecodeUhfBand(c);
            }
            else if (c.Type == LlrpParameterType.Custom)
            {
                custom.Add(DecodeCustom(c));
            }
        }

        return new RegulatoryCapabilities(country, standard, uhf, custom);
    }

    private static UhfBandCapabilities DecodeUhfBand(LlrpParameter p)
    {
        var powers = new List<TransmitPowerLevel>();
        FrequencyInformation? frequencies = null;
        C1G2RfModes? modes = null;
        var children = p.Children(0);
        while (children.TryRead(out var c))
        {
            switch (c.Type)
            {
                case LlrpParameterType.TransmitPowerLevelTableEntry:
                    var f = c.Fields();
                    powers.Add(new TransmitPowerLevel(f.ReadU16(), f.ReadS16()));
                    break;
                case LlrpParameterType.FrequencyInformation: frequencies = DecodeFrequencyInformation(c); break;
                case LlrpParameterType.UhfC1G2RfModeTable:
                    var entries = new List<UhfC1G2RfModeTableEntry>();
                    var modeReader = c.Children(0);
                    while (modeReader.TryRead(out var m))
                    {
                        if (m.Type == LlrpParameterType.UhfC1G2RfModeTableEntry)
                        {
                            var mf = m.Fields();
                            var id = mf.ReadU32();
                            var flags = mf.ReadU8();
                            entries.Add(new UhfC1G2RfModeTableEntry(
                                id, (byte)((flags >> 7) & 1), (flags & 0x40) != 0, mf.ReadU8(), mf.ReadU8(), mf.ReadU8(),
                                mf.ReadU32(), mf.ReadU32(), mf.ReadU32(), mf.ReadU32(), mf.ReadU32()));
                        }
                    }

                    modes = new C1G2RfModes(entries);
                    break;
            }
        }

        return new UhfBandCapabilities(powers, frequencies, modes);
    }

    private static FrequencyInformation DecodeFrequencyInformation(LlrpParameter p)
    {
        var f = p.Fields();
        var hopping = (f.ReadU8() & 0x80) != 0;
        var tables = new List<FrequencyHopTable>();
        FixedFrequencyTable? fixedTable = null;
        var children = new LlrpParameterReader(f.Remaining, "FrequencyInformation");
        while (children.TryRead(out var c))
        {
            var cf = c.Fields();
            if (c.Type == LlrpParameterType.FrequencyHopTable)
            {
                var id = cf.ReadU8();
                cf.ReadU8();
                tables.Add(new FrequencyHopTable(id, cf.ReadU32V()));
            }
            else if (c.Type == LlrpParameterType.FixedFrequencyTable)
            {
                fixedTable = new FixedFrequencyTable(cf.ReadU32V());
            }
        }

        return new FrequencyInformation(hopping, tables, fixedTable);
    }

    /// <summary>Decodes GET_READER_CONFIG_RESPONSE.</summary>
    public static ReaderConfig DecodeReaderConfig(ReadOnlySpan<byte> body)
    {
        LlrpStatus? status = null;
        Identification? identification = null;
        var antennaProperties = new List<AntennaProperties>();
        var antennaConfigurations = new List<AntennaConfiguration>();
        ReaderEventNotificationSpec? eventSpec = null;
        ROReportSpec? reportSpec = null;
        byte? accessReportSpec = null;
        uint? stateValue = null;
        KeepaliveSpec? keepalive = null;
        var gpis = new List<GpiPortCurrentState>();
        var gpos = new List<GpoWriteData>();
        bool? eventsAndReports = null;
        var custom = new List<CustomParameter>();
        var reader = new LlrpParameterReader(body, "GET_READER_CONFIG_RESPONSE");
        while (reader.TryRead(out var p))
        {
            var f = p.Fields();
            switch (p.Type)
            {
                case LlrpParameterType.LlrpStatus: status = DecodeStatus(p); break;
                case LlrpParameterType.Identification: identification = new Identification(f.ReadU8(), f.ReadU8V().ToArray()); break;
                case LlrpParameterType.AntennaProperties: antennaProperties.Add(new AntennaProperties((f.ReadU8() & 0x80) != 0, f.ReadU16(), f.ReadS16())); break;
                case LlrpParameterType.AntennaConfiguration: antennaConfigurations.Add(DecodeAntennaConfiguration(p)); break;
                case LlrpParameterType.ReaderEventNotificationSpec: eventSpec = DecodeEventSpec(p); break;
                case LlrpParameterType.ROReportSpec: reportSpec = DecodeROReportSpec(p); break;
                case LlrpParameterType.AccessReportSpec: accessReportSpec = f.ReadU8(); break;
                case LlrpParameterType.LlrpConfigurationStateValue: stateValue = f.ReadU32(); break;
                case LlrpParameterType.KeepaliveSpec: keepalive = new KeepaliveSpec(f.ReadU8(), f.ReadU32()); break;
                case LlrpParameterType.GpiPortCurrentState: gpis.Add(new GpiPortCurrentState(f.ReadU16(), (f.ReadU8() & 0x80) != 0, f.ReadU8())); break;
                case LlrpParameterType.GpoWriteData: gpos.Add(new GpoWriteData(f.ReadU16(), (f.ReadU8() & 0x80) != 0)); break;
                case LlrpParameterType.EventsAndReports: eventsAndReports = (f.ReadU8() & 0x80) != 0; break;
                case LlrpParameterType.Custom: custom.Add(DecodeCustom(p)); break;
            }
        }

        return new ReaderConfig(
            status ?? throw new LlrpFormatException("GET_READER_CONFIG_RESPONSE: no LLRPStatus parameter."),
            identification, antennaProperties, antennaConfigurations, eventSpec, reportSpec, accessReportSpec, stateValue,
            keepalive, gpis, gpos, eventsAndReports, custom);
    }

    /// <summary>Decodes SET_READER_CONFIG (the reader side; used by the emulator).</summary>
    public static SetReaderConfig DecodeSetReaderConfig(ReadOnlySpan<byte> body)
    {
        var f = new LlrpSpanReader(body, "SET_READER_CONFIG");
        var config = new SetReaderConfig { ResetToFactoryDefaults = (f.ReadU8() & 0x80) != 0 };
        var antennas = new List<AntennaConfiguration>();
        var reader = new LlrpParameterReader(f.Remaining, "SET_READER_CONFIG");
        while (reader.TryRead(out var p))
        {
            var pf = p.Fields();
            switch (p.Type)
            {
                case LlrpParameterType.ReaderEventNotificationSpec: config = config with { ReaderEventNotificationSpec = DecodeEventSpec(p) }; break;
                case LlrpParameterType.AntennaConfiguration: antennas.Add(DecodeAntennaConfiguration(p)); break;
                case LlrpParameterType.ROReportSpec: config = config with { ROReportSpec = DecodeROReportSpec(p) }; break;
                case LlrpParameterType.KeepaliveSpec: config = config with { KeepaliveSpec = new KeepaliveSpec(pf.ReadU8(), pf.ReadU32()) }; break;
                case LlrpParameterType.EventsAndReports: config = config with { EventsAndReports = (pf.ReadU8() & 0x80) != 0 }; break;
            }
        }

        return config with { AntennaConfigurations = antennas };
    }

    /// <summary>Decodes ADD_ROSPEC (the reader side; used by the emulator).</summary>
    public static ROSpec DecodeAddROSpec(ReadOnlySpan<byte> body)
    {
        var reader = new LlrpParameterReader(body, "ADD_ROSPEC");
        while (reader.TryRead(out var p))
        {
            if (p.Type == LlrpParameterType.ROSpec)
            {
                return DecodeROSpec(p);
            }
        }

        throw new LlrpFormatException("ADD_ROSPEC: no ROSpec parameter.");
    }

    private static ROSpec DecodeROSpec(LlrpParameter p)
    {
        var f = p.Fields();
        var spec = new ROSpec { ROSpecId = f.ReadU32(), Priority = f.ReadU8(), CurrentState = f.ReadU8() };
        var children = new LlrpParameterReader(f.Remaining, "ROSpec");
        var sawAISpec = false;
        while (children.TryRead(out var c))
        {
            switch (c.Type)
            {
                case LlrpParameterType.ROBoundarySpec:
                    var boundary = c.Children(0);
                    while (boundary.TryRead(out var b))
                    {
                        var bf = b.Fields();
                        if (b.Type == LlrpParameterType.ROSpecStartTrigger)
                        {
                            spec = spec with { StartTrigger = (ROSpecStartTriggerType)bf.ReadU8() };
                            var triggerChildren = new LlrpParameterReader(bf.Remaining, "ROSpecStartTrigger");
                            while (triggerChildren.TryRead(out var t))
                            {
                                if (t.Type == LlrpParameterType.PeriodicTriggerValue)
                                {
                                    var tf = t.Fields();
                                    spec = spec with { PeriodicOffsetMs = tf.ReadU32(), PeriodMs = tf.ReadU32() };
                                }
                            }
                        }
                        else if (b.Type == LlrpParameterType.ROSpecStopTrigger)
                        {
                            spec = spec with { StopTrigger = (ROSpecStopTriggerType)bf.ReadU8(), StopDurationMs = bf.ReadU32() };
                        }
                    }

                    break;
                case LlrpParameterType.AISpec when !sawAISpec:
                    sawAISpec = true;
                    spec = DecodeAISpec(c, spec);
                    break;
                case LlrpParameterType.ROReportSpec:
                    spec = spec with { ROReportSpec = DecodeROReportSpec(c) };
                    break;
            }
        }

        return sawAISpec ? spec : throw new LlrpFormatException($"ROSpec {spec.ROSpecId}: no AISpec.");
    }

    private static ROSpec DecodeAISpec(LlrpParameter p, ROSpec spec)
    {
        var f = p.Fields();
        var count = f.ReadU16();
        var antennas = new ushort[count];
        for (var i = 0; i < count; i++)
        {
            antennas[i] = f.ReadU16();
        }

        spec = spec with { AntennaIds = antennas };
        var configurations = new List<AntennaConfiguration>();
        var children = new LlrpParameterReader(f.Remaining, "AISpec");
        while (children.TryRead(out var c))
        {
            if (c.Type == LlrpParameterType.AISpecStopTrigger)
            {
                var cf = c.Fields();
                spec = spec with { AISpecStopTrigger = cf.ReadU8(), AISpecStopDurationMs = cf.ReadU32() };
            }
            else if (c.Type == LlrpParameterType.InventoryParameterSpec)
            {
                var cf = c.Fields();
                spec = spec with { InventoryParameterSpecId = cf.ReadU16() };
                cf.ReadU8();
                var inner = new LlrpParameterReader(cf.Remaining, "InventoryParameterSpec");
                while (inner.TryRead(out var a))
                {
                    if (a.Type == LlrpParameterType.AntennaConfiguration)
                    {
                        configurations.Add(DecodeAntennaConfiguration(a));
                    }
                }
            }
        }

        return spec with { AntennaConfigurations = configurations };
    }

    private static AntennaConfiguration DecodeAntennaConfiguration(LlrpParameter p)
    {
        var f = p.Fields();
        var antenna = f.ReadU16();
        ushort? receiver = null;
        RfTransmitter? transmitter = null;
        C1G2InventoryCommand? inventory = null;
        var custom = new List<CustomParameter>();
        var children = new LlrpParameterReader(f.Remaining, "AntennaConfiguration");
        while (children.TryRead(out var c))
        {
            var cf = c.Fields();
            switch (c.Type)
            {
                case LlrpParameterType.RfReceiver: receiver = cf.ReadU16(); break;
                case LlrpParameterType.RfTransmitter: transmitter = new RfTransmitter(cf.ReadU16(), cf.ReadU16(), cf.ReadU16()); break;
                case LlrpParameterType.C1G2InventoryCommand when inventory is null: inventory = DecodeInventoryCommand(c); break;
                case LlrpParameterType.Custom: custom.Add(DecodeCustom(c)); break;
            }
        }

        return new AntennaConfiguration(antenna, receiver, transmitter, inventory, custom);
    }

    private static C1G2InventoryCommand DecodeInventoryCommand(LlrpParameter p)
    {
        var f = p.Fields();
        var stateAware = (f.ReadU8() & 0x80) != 0;
        C1G2RfControl? rf = null;
        C1G2SingulationControl? singulation = null;
        var custom = new List<CustomParameter>();
        var children = new LlrpParameterReader(f.Remaining, "C1G2InventoryCommand");
        while (children.TryRead(out var c))
        {
            var cf = c.Fields();
            switch (c.Type)
            {
                case LlrpParameterType.C1G2RfControl: rf = new C1G2RfControl(cf.ReadU16(), cf.ReadU16()); break;
                case LlrpParameterType.C1G2SingulationControl: singulation = new C1G2SingulationControl((byte)(cf.ReadU8() >> 6), cf.ReadU16(), cf.ReadU32()); break;
                case LlrpParameterType.Custom: custom.Add(DecodeCustom(c)); break;
            }
        }

        return new C1G2InventoryCommand(stateAware, rf, singulation, custom);
    }

    private static ReaderEventNotificationSpec DecodeEventSpec(LlrpParameter p)
    {
        var states = new List<EventNotificationState>();
        var children = p.Children(0);
        while (children.TryRead(out var c))
        {
            if (c.Type == LlrpParameterType.EventNotificationState)
            {
                var f = c.Fields();
                states.Add(new EventNotificationState(f.ReadU16(), (f.ReadU8() & 0x80) != 0));
            }
        }

        return new ReaderEventNotificationSpec(states);
    }

    private static ROReportSpec DecodeROReportSpec(LlrpParameter p)
    {
        var f = p.Fields();
        var trigger = f.ReadU8();
        var n = f.ReadU16();
        TagReportContentSelector? selector = null;
        var custom = new List<CustomParameter>();
        var children = new LlrpParameterReader(f.Remaining, "ROReportSpec");
        while (children.TryRead(out var c))
        {
            if (c.Type == LlrpParameterType.TagReportContentSelector)
            {
                selector = DecodeSelector(c);
            }
            else if (c.Type == LlrpParameterType.Custom)
            {
                custom.Add(DecodeCustom(c));
            }
        }

        return new ROReportSpec(trigger, n, selector, custom);
    }

    private static TagReportContentSelector DecodeSelector(LlrpParameter p)
    {
        var f = p.Fields();
        var flags = f.ReadU16();
        C1G2EpcMemorySelector? memory = null;
        var custom = new List<CustomParameter>();
        var children = new LlrpParameterReader(f.Remaining, "TagReportContentSelector");
        while (children.TryRead(out var c))
        {
            if (c.Type == LlrpParameterType.C1G2EpcMemorySelector)
            {
                var b = c.Fields().ReadU8();
                memory = new C1G2EpcMemorySelector((b & 0x80) != 0, (b & 0x40) != 0, (b & 0x20) != 0);
            }
            else if (c.Type == LlrpParameterType.Custom)
            {
                custom.Add(DecodeCustom(c));
            }
        }

        bool Bit(int i) => (flags & (1 << i)) != 0;
        return new TagReportContentSelector(Bit(15), Bit(14), Bit(13), Bit(12), Bit(11), Bit(10), Bit(9), Bit(8), Bit(7), Bit(6), memory, custom);
    }
}
