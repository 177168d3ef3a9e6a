namespace Grpo.Cli.Tests;

/// <summary>
/// What the tests that run the commands on the tiny model share: a temporary folder holding the model
/// (<see cref="TinyModelFolder"/>) and a JSONL data set, with <c>grpo train</c>'s output folder inside it. Disposing
/// deletes it all.
/// </summary>
sealed class TinyRunFolder : IDisposable
{
    /// <param name="prefix">Starts the temporary folder's name, to tell the test classes' folders apart.</param>
    /// <param name="rows">The data set's lines.</param>
    /// <param name="dataName">The data set's file name.</param>
    /// <param name="alwaysSeven">A model that writes '7' after any prompt (see <see cref="TinyModelFolder.Create"/>).</param>
    /// <param name="chatTemplate">Whether the model folder carries a chat template.</param>
    public TinyRunFolder(string prefix, IEnumerable<string> rows, string dataName = "data.jsonl", bool alwaysSeven = false, bool chatTemplate = true)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory(prefix).FullName;
        Model = TinyModelFolder.Create(PathOf("model"), alwaysSeven: alwaysSeven, chatTemplate: chatTemplate);
        Data = PathOf(dataName);
        File.WriteAllLines(Data, rows);
    }

    /// <summary>The temporary folder.</summary>
    public string Directory { get; }

    /// <summary>The model folder.</summary>
    public string Model { get; }

    /// <summary>The data set.</summary>
    public string Data { get; }

    /// <summary><c>grpo train</c>'s output folder, not created.</summary>
    public string Output => PathOf("run");

    /// <summary><paramref name="name"/> inside the temporary folder.</summary>
    public string PathOf(string name) => Path.Combine(Directory, name);

    /// <summary><c>grpo train</c> of the model on the data set into <see cref="Output"/>, with <paramref name="options"/>.</summary>
    public string[] Train(params string[] options) => ["train", "--model", Model, "--data", Data, "--output", Output, .. options];

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
