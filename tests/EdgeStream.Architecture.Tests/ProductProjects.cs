using System.Xml.Linq;

namespace EdgeStream.Architecture.Tests;

/// <summary>One product project as its file declares it.</summary>
public sealed record ProductProject(string Name, string Folder, string Sdk, IReadOnlySet<string> Projects, IReadOnlySet<string> Packages, IReadOnlySet<string> Frameworks);

/// <summary>The product's projects (shared, edge, cloud, hardware) and the graph of their references.</summary>
public sealed class ProductProjects
{
    private static readonly string[] Rooms = ["shared", "edge", "cloud", "hardware"];

    public ProductProjects(IEnumerable<ProductProject> projects)
    {
        ByName = projects.ToDictionary(p => p.Name, StringComparer.Ordinal);
    }

    public IReadOnlyDictionary<string, ProductProject> ByName { get; }

    /// <summary>The repository's root: the folder above the test binaries that holds EdgeStream.sln.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EdgeStream.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No EdgeStream.sln above {AppContext.BaseDirectory}.");
    }

    public static ProductProjects Load(string root)
    {
        var projects = new List<ProductProject>();
        foreach (var room in Rooms)
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(root, room), "*.csproj", SearchOption.AllDirectories))
            {
                if (IsBuildOutput(file))
                {
                    continue;
                }

                var xml = XDocument.Load(file);
                var items = xml.Descendants().ToList();
                HashSet<string> Included(string element) =>
                    items.Where(e => e.Name.LocalName == element).Select(e => (string?)e.Attribute("Include")).OfType<string>().ToHashSet(StringComparer.Ordinal);
                projects.Add(new ProductProject(
                    Path.GetFileNameWithoutExtension(file),
                    room,
                    (string?)xml.Root?.Attribute("Sdk") ?? string.Empty,
                    Included("ProjectReference").Select(p => Path.GetFileNameWithoutExtension(p.Replace('\\', '/'))).ToHashSet(StringComparer.Ordinal),
                    Included("PackageReference"),
                    Included("FrameworkReference")));
            }
        }

        return new ProductProjects(projects);
    }

    /// <summary>Every product project <paramref name="name"/> reaches through its references, itself excluded.</summary>
    public IReadOnlySet<string> Reaches(string name)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>(ByName[name].Projects);
        while (pending.TryPop(out var next))
        {
            if (seen.Add(next) && ByName.TryGetValue(next, out var project))
            {
                foreach (var p in project.Projects)
                {
                    pending.Push(p);
                }
            }
        }

        return seen;
    }

    /// <summary>Source files of a project, as written.</summary>
    public static IEnumerable<(string File, string Code)> Sources(string root, ProductProject project)
    {
        var folder = Path.Combine(root, project.Folder, project.Name);
        foreach (var file in Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories))
        {
            if (IsBuildOutput(file))
            {
                continue;
            }

            yield return (Path.GetRelativePath(root, file), File.ReadAllText(file));
        }
    }

    private static bool IsBuildOutput(string path) =>
        path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
        || path.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal);
}
