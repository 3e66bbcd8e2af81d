namespace EventMlOps.Training.Tests.Testing;

/// <summary>Tests that train with TorchSharp share libtorch's global random generator and thread setting, so they
/// run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchCollection
{
    public const string Name = "torch";
}

/// <summary>Temporary folders under one root per test process, removed when the process exits.</summary>
public static class Temp
{
    private static readonly string Root = CreateRoot();

    private static string CreateRoot()
    {
        var root = Directory.CreateTempSubdirectory("emo-train-tests-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(root, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        };
        return root;
    }

    public static string Folder() => Directory.CreateDirectory(Path.Combine(Root, Guid.NewGuid().ToString("N")[..12])).FullName;

    public static string File(string content, string name = "data.txt")
    {
        var path = Path.Combine(Folder(), name);
        System.IO.File.WriteAllText(path, content);
        return path;
    }
}
