namespace EdgeStream.Cloud.Tests;

/// <summary>The collection that shares one PostgreSQL cluster (xunit finds collection definitions only in the test assembly).</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "PostgreSQL";
}
