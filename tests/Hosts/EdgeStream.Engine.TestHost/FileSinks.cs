using System.Globalization;
using System.Text;

namespace EdgeStream.Engine.TestHost;

/// <summary>
/// A durable idempotent output sink: appends one line per output (<c>id key payload</c>) and fsyncs on
/// flush. Reading it back keeps one entry per id, which is what "idempotent by id" means for a
/// downstream store; a torn last line from a kill is ignored.
/// </summary>
public sealed class FileOutputSink : IOutputSink<ulong, Summary>, IDisposable
{
    private readonly LineFile _file;

    public FileOutputSink(string path) => _file = new LineFile(path);

    public void Write(in Output<ulong, Summary> output) =>
        _file.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{output.Id} {output.Key} {output.Value}"));

    public ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        _file.Flush();
        return ValueTask.CompletedTask;
    }

    public void Dispose() => _file.Dispose();

    /// <summary>
    /// Reads sink files back as a downstream idempotent store would: one value per id. Returns the store
    /// and the number of ids written more than once with different values (must be zero).
    /// </summary>
    public static (SortedDictionary<string, string> Store, int Conflicts, int Lines) ReadStore(IEnumerable<string> paths)
    {
        var store = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var conflicts = 0;
        var lines = 0;
        foreach (var path in paths.Where(File.Exists))
        {
            var text = File.ReadAllText(path);
            var complete = text.LastIndexOf('\n') + 1;
            foreach (var line in text[..complete].Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                lines++;
                var space = line.IndexOf(' ', StringComparison.Ordinal);
                var id = line[..space];
                var rest = line[(space + 1)..];
                if (store.TryGetValue(id, out var existing) && existing != rest)
                {
                    conflicts++;
                }

                store[id] = rest;
            }
        }

        return (store, conflicts, lines);
    }
}

/// <summary>A durable side output in a file: one line per record, fsynced on flush.</summary>
public sealed class FileSideOutput : ISideOutput, IDisposable
{
    private readonly LineFile _file;

    public FileSideOutput(string path) => _file = new LineFile(path);

    public void Write(SideRecord record) =>
        _file.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{record.Partition}:{record.Offset} {record.Reason} {record.EventTime} {Convert.ToHexString(record.Value)}"));

    public ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        _file.Flush();
        return ValueTask.CompletedTask;
    }

    public void Dispose() => _file.Dispose();
}

/// <summary>
/// A line file written by several threads and made durable on flush: opened for appending after cutting
/// off a torn last line that a killed writer left; each line is appended whole under a lock.
/// </summary>
internal sealed class LineFile : IDisposable
{
    private readonly FileStream _file;
    private readonly StreamWriter _writer;
    private readonly Lock _lock = new();

    public LineFile(string path)
    {
        _file = OpenForAppend(path);
        _writer = new StreamWriter(_file, new UTF8Encoding(false));
    }

    /// <summary>Appends <paramref name="line"/> and a newline.</summary>
    public void AppendLine(string line)
    {
        lock (_lock)
        {
            _writer.Write(line);
            _writer.Write('\n');
        }
    }

    /// <summary>Writes out what is buffered and fsyncs the file.</summary>
    public void Flush()
    {
        lock (_lock)
        {
            _writer.Flush();
            _file.Flush(flushToDisk: true);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _writer.Dispose();
        }
    }

    private static FileStream OpenForAppend(string path)
    {
        var fs = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        var end = fs.Length;
        var buffer = new byte[4096];
        var keep = 0L;
        while (end > 0)
        {
            var n = (int)Math.Min(buffer.Length, end);
            fs.Position = end - n;
            fs.ReadExactly(buffer, 0, n);
            var nl = Array.LastIndexOf(buffer, (byte)'\n', n - 1);
            if (nl >= 0)
            {
                keep = end - n + nl + 1;
                break;
            }

            end -= n;
        }

        fs.SetLength(keep);
        fs.Position = keep;
        return fs;
    }
}
