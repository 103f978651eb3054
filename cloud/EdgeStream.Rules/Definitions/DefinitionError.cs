namespace EdgeStream.Rules.Definitions;

/// <summary>What is wrong with a definition, and where: the line (1-based) and the field's path, e.g. <c>transitions[3].to</c>.</summary>
public sealed record DefinitionError(int Line, string Path, string Message)
{
    /// <inheritdoc />
    public override string ToString() => Path.Length == 0 ? $"line {Line}: {Message}" : $"line {Line}, {Path}: {Message}";
}

/// <summary>A definition that did not validate; <see cref="Errors"/> lists every problem found.</summary>
public sealed class DefinitionException(IReadOnlyList<DefinitionError> errors)
    : Exception(string.Join("; ", errors))
{
    /// <summary>Every problem, in the order of the file.</summary>
    public IReadOnlyList<DefinitionError> Errors { get; } = errors;
}
