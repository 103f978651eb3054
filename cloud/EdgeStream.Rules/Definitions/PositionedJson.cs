using System.Globalization;
using System.Text;
using System.Text.Json;

namespace EdgeStream.Rules.Definitions;

/// <summary>A JSON value with the line it starts on, so that a validation error can name it.</summary>
internal sealed class PositionedJson
{
    private PositionedJson(JsonValueKind kind, int line, string path)
    {
        Kind = kind;
        Line = line;
        Path = path;
    }

    public JsonValueKind Kind { get; }

    public int Line { get; }

    /// <summary>Where the value sits, e.g. <c>states.waiting.alerts[0]</c> (empty for the document).</summary>
    public string Path { get; }

    public string? Text { get; private set; }

    public List<(string Key, PositionedJson Value)> Members { get; } = [];

    public List<PositionedJson> Items { get; } = [];

    /// <summary>Parses <paramref name="utf8"/>; a syntax error becomes a <see cref="DefinitionError"/> with its line.</summary>
    public static PositionedJson Parse(ReadOnlySpan<byte> utf8, List<DefinitionError> errors)
    {
        var lines = new List<long> { 0 };
        for (var i = 0; i < utf8.Length; i++)
        {
            if (utf8[i] == (byte)'\n')
            {
                lines.Add(i + 1);
            }
        }

        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = false, MaxDepth = 64 });
        try
        {
            if (!reader.Read())
            {
                errors.Add(new DefinitionError(1, string.Empty, "the file is empty."));
                return new PositionedJson(JsonValueKind.Undefined, 1, string.Empty);
            }

            var root = Read(ref reader, lines, string.Empty, errors);
            if (reader.Read())
            {
                errors.Add(new DefinitionError(LineOf(lines, reader.TokenStartIndex), string.Empty, "text after the end of the document."));
            }

            return root;
        }
        catch (InvalidOperationException ex) when (ex.InnerException is DecoderFallbackException)
        {
            // A string that is not UTF-8: the reader knows only where it stopped.
            var at = LineOf(lines, reader.TokenStartIndex);
            errors.Add(new DefinitionError(at, string.Empty, "not valid UTF-8 text."));
            return new PositionedJson(JsonValueKind.Undefined, at, string.Empty);
        }
        catch (JsonException ex)
        {
            errors.Add(new DefinitionError((int)(ex.LineNumber ?? 0) + 1, string.Empty, $"not valid JSON: {ex.Message.Split(" Path:")[0].Split(" LineNumber:")[0]}"));
            return new PositionedJson(JsonValueKind.Undefined, (int)(ex.LineNumber ?? 0) + 1, string.Empty);
        }
    }

    /// <summary>The member called <paramref name="key"/>, or null.</summary>
    public PositionedJson? this[string key] => Members.FirstOrDefault(m => m.Key == key).Value;

    private static PositionedJson Read(ref Utf8JsonReader reader, List<long> lines, string path, List<DefinitionError> errors)
    {
        var line = LineOf(lines, reader.TokenStartIndex);
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
            {
                var node = new PositionedJson(JsonValueKind.Object, line, path);
                while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                {
                    var key = reader.GetString()!;
                    var keyLine = LineOf(lines, reader.TokenStartIndex);
                    var childPath = path.Length == 0 ? key : path + "." + key;
                    reader.Read();
                    var value = Read(ref reader, lines, childPath, errors);
                    if (node.Members.Any(m => m.Key == key))
                    {
                        errors.Add(new DefinitionError(keyLine, childPath, "given twice."));
                        continue;
                    }

                    node.Members.Add((key, value));
                }

                return node;
            }

            case JsonTokenType.StartArray:
            {
                var node = new PositionedJson(JsonValueKind.Array, line, path);
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    node.Items.Add(Read(ref reader, lines, $"{path}[{node.Items.Count.ToString(CultureInfo.InvariantCulture)}]", errors));
                }

                return node;
            }

            case JsonTokenType.String:
                return new PositionedJson(JsonValueKind.String, line, path) { Text = reader.GetString() };
            case JsonTokenType.Number:
                return new PositionedJson(JsonValueKind.Number, line, path) { Text = Encoding.UTF8.GetString(reader.ValueSpan) };
            case JsonTokenType.True:
                return new PositionedJson(JsonValueKind.True, line, path);
            case JsonTokenType.False:
                return new PositionedJson(JsonValueKind.False, line, path);
            default:
                return new PositionedJson(JsonValueKind.Null, line, path);
        }
    }

    private static int LineOf(List<long> lines, long offset)
    {
        var i = lines.BinarySearch(offset);
        return (i >= 0 ? i : ~i - 1) + 1;
    }
}
