using System.Buffers.Binary;
using System.Text.Json;

namespace RerankSharp.Tests;

/// <summary>Copies of the fixture models with one thing broken on purpose, for the failures a real checkpoint can have.</summary>
internal static class BrokenModels
{
    /// <summary>
    /// A copy of fixture <paramref name="model"/> (in a new temporary folder, which the caller deletes) whose F32 tensor
    /// <paramref name="tensor"/> is all NaN, as a checkpoint damaged in training or conversion has.
    /// </summary>
    public static string WithNaN(string model, string tensor)
    {
        var dir = Directory.CreateTempSubdirectory("rerank-nan-").FullName;
        foreach (var file in Directory.GetFiles(FixturePaths.Model(model)))
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        var path = Path.Combine(dir, "model.safetensors");
        var bytes = File.ReadAllBytes(path);
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, headerLength));
        var entry = header.RootElement.GetProperty(tensor);
        if (entry.GetProperty("dtype").GetString() != "F32") throw new ArgumentException($"{tensor} of {model} is not F32.", nameof(tensor));
        var offsets = entry.GetProperty("data_offsets");
        var (start, end) = (8 + headerLength + offsets[0].GetInt32(), 8 + headerLength + offsets[1].GetInt32());
        for (var at = start; at < end; at += 4) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(at), float.NaN);
        File.WriteAllBytes(path, bytes);
        return dir;
    }
}
