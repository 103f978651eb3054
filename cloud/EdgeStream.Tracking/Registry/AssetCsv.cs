using System.Globalization;
using System.Text;
using EdgeStream.Tracking.Storage;

namespace EdgeStream.Tracking.Registry;

/// <summary>
/// Bulk import and export of the asset registry as CSV (RFC 4180: comma-separated, fields with commas,
/// quotes or line breaks in double quotes). The first row names the columns: <c>id</c>, <c>name</c>,
/// <c>type</c>, <c>owner</c>, <c>homeZone</c>, <c>tags</c> (EPCs separated by <c>;</c> or spaces), and any
/// <c>attr.KEY</c> column for a free attribute. Every row is taken or refused on its own, with its line number.
/// </summary>
public static class AssetCsv
{
    private static readonly string[] Known = ["id", "name", "type", "owner", "homezone", "tags"];

    /// <summary>Most rows one import takes.</summary>
    public const int MaxRows = 1_000_000;

    /// <summary>Imports every row into <paramref name="store"/>; a bad row is refused with its line and reason, the others are still taken.</summary>
    public static async Task<ImportResult> ImportAsync(TextReader csv, ITrackingStore store, long nowUs, CancellationToken cancellationToken)
    {
        var rejected = new List<ImportError>();
        var accepted = 0;
        var (header, headerError) = await ReadHeaderAsync(csv);
        if (header is null)
        {
            return new ImportResult(0, [new ImportError(1, headerError!)]);
        }

        var reader = new RowReader(csv, header.Line);
        while (await reader.NextAsync() is { } row)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (row.Error is not null)
            {
                rejected.Add(new ImportError(row.Line, row.Error));
                if (row.Fatal)
                {
                    break;
                }

                continue;
            }

            if (row.Fields.Count == 1 && row.Fields[0].Length == 0)
            {
                continue; // a blank line
            }

            if (accepted + rejected.Count >= MaxRows)
            {
                rejected.Add(new ImportError(row.Line, $"more than {MaxRows} rows: split the file"));
                break;
            }

            if (row.Fields.Count != header.Columns.Count)
            {
                rejected.Add(new ImportError(row.Line, $"has {row.Fields.Count} fields, the header names {header.Columns.Count}"));
                continue;
            }

            string? Field(string name) => header.Index.TryGetValue(name, out var i) && row.Fields[i].Trim() is { Length: > 0 } v ? v : null;
            var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (name, i) in header.Attributes)
            {
                if (row.Fields[i].Trim() is { Length: > 0 } v)
                {
                    attributes[name] = v;
                }
            }

            var tags = (Field("tags") ?? string.Empty).Split([';', ' ', '|'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (Field("id") is null && tags.Length == 0)
            {
                rejected.Add(new ImportError(row.Line, "names neither an id nor a tag"));
                continue;
            }

            try
            {
                await store.UpsertAssetAsync(new AssetInput(Field("id"), Field("name"), Field("type"), Field("owner"), Field("homezone"), attributes, tags), nowUs, cancellationToken);
                accepted++;
            }
            catch (RegistryException ex)
            {
                rejected.Add(new ImportError(row.Line, ex.Message));
            }
        }

        return new ImportResult(accepted, rejected);
    }

    /// <summary>Writes every registered and unregistered asset, a page at a time, in the import's format (attributes as <c>attr.KEY</c> columns).</summary>
    public static async Task ExportAsync(ITrackingStore store, TextWriter csv, CancellationToken cancellationToken)
    {
        // Two passes: the attribute keys decide the columns, then the rows.
        var keys = new SortedSet<string>(StringComparer.Ordinal);
        await foreach (var a in AllAsync(store, cancellationToken))
        {
            keys.UnionWith(a.Attributes.Keys);
        }

        await csv.WriteLineAsync(string.Join(',', new[] { "id", "name", "type", "owner", "homeZone", "tags", "registered", "zone", "since", "lastSeen" }.Concat(keys.Select(k => Quote("attr." + k)))));
        await foreach (var a in AllAsync(store, cancellationToken))
        {
            var fields = new List<string?>
            {
                a.Id, a.Name, a.Type, a.Owner, a.HomeZone, string.Join(';', a.Tags), a.Registered ? "true" : "false", a.Location.Zone,
                a.Location.SinceUs is { } s ? EdgeStream.Contracts.EventTimes.ToIso(s) : null,
                a.Location.LastSeenUs is { } l ? EdgeStream.Contracts.EventTimes.ToIso(l) : null,
            };
            fields.AddRange(keys.Select(k => a.Attributes.GetValueOrDefault(k)));
            await csv.WriteLineAsync(string.Join(',', fields.Select(f => Quote(f ?? string.Empty))));
        }
    }

    private static async IAsyncEnumerable<Asset> AllAsync(ITrackingStore store, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? cursor = null;
        do
        {
            var page = await store.ListAssetsAsync(new AssetFilter(), 1000, cursor, cancellationToken);
            foreach (var a in page.Items)
            {
                yield return a;
            }

            cursor = page.Next;
        }
        while (cursor is not null);
    }

    private static string Quote(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") >= 0 || (field.Length > 0 && (field[0] == ' ' || field[^1] == ' '))
            ? "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
            : field;

    private static async Task<(Header? Header, string? Error)> ReadHeaderAsync(TextReader csv)
    {
        var reader = new RowReader(csv, 0);
        var row = await reader.NextAsync();
        if (row is null)
        {
            return (null, "the file is empty: expected a header row such as id,name,type,owner,homeZone,tags");
        }

        if (row.Error is not null)
        {
            return (null, "header: " + row.Error);
        }

        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var attributes = new List<(string, int)>();
        for (var i = 0; i < row.Fields.Count; i++)
        {
            var name = row.Fields[i].Trim().TrimStart('\uFEFF');
            var lower = name.ToLowerInvariant();
            if (lower.StartsWith("attr.", StringComparison.Ordinal) && name.Length > 5)
            {
                attributes.Add((name[5..], i));
            }
            else if (Array.IndexOf(Known, lower) >= 0)
            {
                if (!index.TryAdd(lower, i))
                {
                    return (null, $"column '{name}' appears twice");
                }
            }
            else if (lower is not ("registered" or "zone" or "since" or "lastseen"))
            {
                return (null, $"column '{name}' is unknown: use id, name, type, owner, homeZone, tags and attr.KEY");
            }
        }

        if (!index.ContainsKey("id") && !index.ContainsKey("tags"))
        {
            return (null, "the header names neither an id nor a tags column");
        }

        return (new Header(row.Fields, index, attributes, row.Line), null);
    }

    private sealed record Header(IReadOnlyList<string> Columns, Dictionary<string, int> Index, List<(string Name, int Column)> Attributes, int Line);

    private sealed record Row(int Line, List<string> Fields, string? Error, bool Fatal = false);

    /// <summary>Reads RFC 4180 rows, counting physical lines so errors name the line a person sees in an editor.</summary>
    private sealed class RowReader(TextReader reader, int linesBefore)
    {
        private const int MaxFieldChars = 64 * 1024;
        private int _line = linesBefore;

        public async Task<Row?> NextAsync()
        {
            var first = await reader.ReadLineAsync();
            if (first is null)
            {
                return null;
            }

            var start = ++_line;
            var fields = new List<string>();
            var field = new StringBuilder();
            var line = first;
            var i = 0;
            var quoted = false;
            var atStart = true;
            while (true)
            {
                if (i >= line.Length)
                {
                    if (!quoted)
                    {
                        fields.Add(field.ToString());
                        return new Row(start, fields, null);
                    }

                    var more = await reader.ReadLineAsync();
                    if (more is null)
                    {
                        return new Row(start, fields, "a quoted field is not closed before the end of the file", Fatal: true);
                    }

                    _line++;
                    field.Append('\n');
                    line = more;
                    i = 0;
                    continue;
                }

                var c = line[i++];
                if (field.Length > MaxFieldChars)
                {
                    return new Row(start, fields, $"a field is longer than {MaxFieldChars} characters");
                }

                if (quoted)
                {
                    if (c == '"')
                    {
                        if (i < line.Length && line[i] == '"')
                        {
                            field.Append('"');
                            i++;
                        }
                        else
                        {
                            quoted = false;
                        }
                    }
                    else
                    {
                        field.Append(c);
                    }
                }
                else if (c == ',')
                {
                    fields.Add(field.ToString());
                    field.Clear();
                    atStart = true;
                    continue;
                }
                else if (c == '"' && atStart)
                {
                    quoted = true;
                }
                else if (c == '"')
                {
                    return new Row(start, fields, $"a quote inside an unquoted field (column {(fields.Count + 1).ToString(CultureInfo.InvariantCulture)}): quote the whole field");
                }
                else
                {
                    field.Append(c);
                }

                atStart = false;
            }
        }
    }
}
