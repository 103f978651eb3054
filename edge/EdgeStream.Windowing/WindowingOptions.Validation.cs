using Microsoft.Extensions.Configuration;

namespace EdgeStream.Windowing;

public sealed partial record WindowingOptions
{
    /// <summary>
    /// Binds options from a configuration section (usually <c>Windowing</c>); keys left out keep their
    /// defaults. The result is validated.
    /// </summary>
    /// <exception cref="WindowingOptionsException">A value cannot be converted or is out of range; the message names the key.</exception>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "The trimmed edge daemon roots this assembly (TrimmerRootAssembly), so every options type and member the binder reflects over is kept.")]
    public static WindowingOptions Load(IConfiguration section)
    {
        var prefix = section is IConfigurationSection s ? s.Path : SectionName;
        WindowingOptions options;
        try
        {
            options = section.Get<WindowingOptions>(o => o.ErrorOnUnknownConfiguration = true) ?? new WindowingOptions();
        }
        catch (InvalidOperationException ex)
        {
            // The binder names the offending key in the innermost message ("Failed to convert configuration
            // value 'x' at 'Windowing:Zones:0:Kind' ...") or lists unknown keys in its own message.
            var message = ex.Message;
            for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
            {
                message += " " + inner.Message;
            }

            throw new WindowingOptionsException(prefix, message, ex);
        }

        options.Validate(prefix);
        return options;
    }

    /// <summary>Checks every value; keys in messages are prefixed with <paramref name="prefix"/>.</summary>
    /// <exception cref="WindowingOptionsException">The first value out of range, with its key and the allowed values.</exception>
    public void Validate(string prefix = SectionName)
    {
        string K(string key) => prefix.Length == 0 ? key : prefix + ":" + key;

        Range(K(nameof(DedupeIntervalMs)), DedupeIntervalMs, 1, 3_600_000);
        Range(K(nameof(ReorderToleranceMs)), ReorderToleranceMs, 0, 60_000);
        Range(K(nameof(DepartureTimeoutMs)), DepartureTimeoutMs, 1, 86_400_000);
        Range(K(nameof(MaxTrackedTags)), MaxTrackedTags, 1, 10_000_000);
        Range(K(nameof(MaxBufferedReads)), MaxBufferedReads, 1, 16_000_000);
        Range(K(nameof(MaxOpenObservations)), MaxOpenObservations, 1, 10_000_000);

        if (Reads is null)
        {
            throw new WindowingOptionsException(K(nameof(Reads)), "is required.");
        }

        if (!Enum.IsDefined(Reads.Mode))
        {
            throw new WindowingOptionsException(K("Reads:Mode"), $"'{Reads.Mode}' is not one of {string.Join(", ", Enum.GetNames<ReadsOutputMode>())}.");
        }

        Range(K("Reads:SampleEvery"), Reads.SampleEvery, 1, 1_000_000);

        if (Arbitration is null)
        {
            throw new WindowingOptionsException(K(nameof(Arbitration)), "is required.");
        }

        Range(K("Arbitration:WindowMs"), Arbitration.WindowMs, 8, 600_000);
        ValidateTuning(K("Arbitration"), Arbitration.MinReads, Arbitration.MinMeanRssiDbm, Arbitration.MoveMarginDb, Arbitration.HoldOffMs);

        var readerIds = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (Readers?.Count ?? 0); i++)
        {
            var r = Readers![i];
            var key = K($"Readers:{i}");
            if (r is null || string.IsNullOrWhiteSpace(r.Id))
            {
                throw new WindowingOptionsException(key + ":Id", "a reader id is required.");
            }

            if (!readerIds.Add(r.Id))
            {
                throw new WindowingOptionsException(key + ":Id", $"reader '{r.Id}' is listed twice.");
            }

            Range(key + ":ClockOffsetMs", r.ClockOffsetMs, -86_400_000, 86_400_000);
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        var owner = new Dictionary<(string, int), string>();
        for (var i = 0; i < (Zones?.Count ?? 0); i++)
        {
            var z = Zones![i];
            var key = K($"Zones:{i}");
            if (z is null || string.IsNullOrWhiteSpace(z.Name))
            {
                throw new WindowingOptionsException(key + ":Name", "a zone name is required.");
            }

            if (!names.Add(z.Name))
            {
                throw new WindowingOptionsException(key + ":Name", $"zone '{z.Name}' is defined twice.");
            }

            if (!Enum.IsDefined(z.Kind))
            {
                throw new WindowingOptionsException(key + ":Kind", $"'{z.Kind}' is not one of {string.Join(", ", Enum.GetNames<ZoneKind>())}.");
            }

            if (z.Antennas is null || z.Antennas.Count == 0)
            {
                throw new WindowingOptionsException(key + ":Antennas", $"zone '{z.Name}' needs at least one antenna.");
            }

            for (var j = 0; j < z.Antennas.Count; j++)
            {
                var a = z.Antennas[j];
                var akey = $"{key}:Antennas:{j}";
                if (a is null || string.IsNullOrWhiteSpace(a.Reader))
                {
                    throw new WindowingOptionsException(akey + ":Reader", "a reader id is required.");
                }

                Range(akey + ":Antenna", a.Antenna, 1, ushort.MaxValue);
                if (!owner.TryAdd((a.Reader, a.Antenna), z.Name))
                {
                    throw new WindowingOptionsException(
                        akey,
                        $"antenna {a.Antenna} of reader '{a.Reader}' is already in zone '{owner[(a.Reader, a.Antenna)]}'; an antenna belongs to at most one zone.");
                }
            }

            if (z.DepartureTimeoutMs is { } dep)
            {
                Range(key + ":DepartureTimeoutMs", dep, 1, 86_400_000);
            }

            if (z.Arbitration is { } o)
            {
                ValidateTuning(
                    key + ":Arbitration",
                    o.MinReads ?? Arbitration.MinReads,
                    o.MinMeanRssiDbm ?? Arbitration.MinMeanRssiDbm,
                    o.MoveMarginDb ?? Arbitration.MoveMarginDb,
                    o.HoldOffMs ?? Arbitration.HoldOffMs);
            }
        }
    }

    private static void ValidateTuning(string key, int minReads, double minMeanRssiDbm, double moveMarginDb, int holdOffMs)
    {
        Range(key + ":MinReads", minReads, 1, 60_000);
        RangeD(key + ":MinMeanRssiDbm", minMeanRssiDbm, -150, 20);
        RangeD(key + ":MoveMarginDb", moveMarginDb, 0, 100);
        Range(key + ":HoldOffMs", holdOffMs, 0, 3_600_000);
    }

    private static void Range(string key, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            throw new WindowingOptionsException(key, $"{value} is out of range; allowed {min}..{max}.");
        }
    }

    private static void RangeD(string key, double value, double min, double max)
    {
        if (!double.IsFinite(value) || value < min || value > max)
        {
            throw new WindowingOptionsException(key, $"{value} is out of range; allowed {min}..{max}.");
        }
    }
}
