using System.Collections.Concurrent;

namespace EdgeStream.Tracking;

/// <summary>
/// Interns zone and gateway names as small integers so that events and per-tag state stay plain
/// structs. The numbers are local to one process (checkpoints and outputs carry the names), so the
/// order in which names are first met does not matter. Thread-safe; names are never removed.
/// </summary>
public sealed class NameTable
{
    /// <summary>The number that stands for "no name".</summary>
    public const int None = -1;

    private readonly ConcurrentDictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private string[] _names = new string[64];
    private ulong[] _hashes = new ulong[64];
    private int _count;

    /// <summary>Names interned so far.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The number of <paramref name="name"/>, interning it on first use; <see cref="None"/> for null.</summary>
    public int Intern(string? name)
    {
        if (name is null)
        {
            return None;
        }

        if (_ids.TryGetValue(name, out var id))
        {
            return id;
        }

        lock (_lock)
        {
            if (_ids.TryGetValue(name, out id))
            {
                return id;
            }

            if (_count == _names.Length)
            {
                var hashes = _hashes;
                Array.Resize(ref hashes, hashes.Length * 2);
                Volatile.Write(ref _hashes, hashes);
                Array.Resize(ref _names, _names.Length * 2);
            }

            id = _count;
            _hashes[id] = EdgeStream.Engine.State.StableHash.Hash(name);
            _names[id] = name;
            Volatile.Write(ref _count, id + 1);
            _ids[name] = id;
            return id;
        }
    }

    /// <summary>Every name interned so far, in the order they were met.</summary>
    public IReadOnlyList<string> Names()
    {
        var names = Volatile.Read(ref _names);
        return names.AsSpan(0, Math.Min(Count, names.Length)).ToArray();
    }

    /// <summary>The stable hash of the name of <paramref name="id"/> (<see cref="EdgeStream.Engine.State.StableHash.Hash(string)"/>), computed once when it was interned.</summary>
    public ulong HashOf(int id) => Volatile.Read(ref _hashes)[id];

    /// <summary>The name of <paramref name="id"/>, or null for <see cref="None"/>.</summary>
    public string? NameOf(int id)
    {
        if (id == None)
        {
            return null;
        }

        var names = Volatile.Read(ref _names);
        if ((uint)id >= (uint)Count || id >= names.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, "Not a number this table gave out.");
        }

        return names[id];
    }
}
