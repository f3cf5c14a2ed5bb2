using YamlDotNet.RepresentationModel;

namespace RerankSharp.Packaging.Tests;

/// <summary>
/// A node of a YAML document (a Kubernetes manifest, a compose file), parsed by YamlDotNet, with the navigation the tests
/// need; a missing key or a node of the wrong kind fails with the path that was asked for.
/// </summary>
internal readonly record struct YamlDocument(YamlNode Node, string Path)
{
    /// <summary>Every document of a file (Kubernetes files hold several, separated by ---).</summary>
    public static IReadOnlyList<YamlDocument> LoadAll(string file)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(file)) stream.Load(reader);
        return stream.Documents.Select((d, i) => new YamlDocument(d.RootNode, $"{System.IO.Path.GetFileName(file)}#{i}")).ToList();
    }

    public YamlDocument this[string key] =>
        Find(key) ?? throw new KeyNotFoundException($"{Path}: no '{key}'");

    public YamlDocument this[int index] => Items[index];

    public YamlDocument? Find(string key) =>
        Mapping.Children.TryGetValue(new YamlScalarNode(key), out var child) ? new YamlDocument(child, $"{Path}.{key}") : null;

    public bool Has(string key) => Find(key) is not null;

    public IReadOnlyList<YamlDocument> Items
    {
        get
        {
            var path = Path;
            return (Node as YamlSequenceNode ?? throw new InvalidDataException($"{path} is not a list")).Children
                .Select((c, i) => new YamlDocument(c, $"{path}[{i}]")).ToList();
        }
    }

    public IEnumerable<string> Keys => Mapping.Children.Keys.Select(k => ((YamlScalarNode)k).Value!);

    public string Value => (Node as YamlScalarNode ?? throw new InvalidDataException($"{Path} is not a scalar")).Value ?? "";

    public int Int => int.Parse(Value, System.Globalization.CultureInfo.InvariantCulture);

    public IReadOnlyList<string> Strings => Items.Select(i => i.Value).ToList();

    private YamlMappingNode Mapping => Node as YamlMappingNode ?? throw new InvalidDataException($"{Path} is not a mapping");

    public override string ToString() => Path;
}
