using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using EventMlOps.Serving.Hosting;
using EventMlOps.Serving.Loading;
using EventMlOps.Serving.Routing;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace EventMlOps.Serving.Inference;

/// <summary>KServe's Open Inference Protocol (v2) over REST: health, server and model metadata, model readiness and
/// <c>infer</c> with JSON tensors, which runs the artifact's own graph. Errors are <c>{"error": "…"}</c>; an unknown
/// model or version is a 400, as in Triton.</summary>
public static class OpenInferenceProtocol
{
    public sealed record Tensor(string Name, long[] Shape, string Datatype, JsonElement Data);

    public sealed record RequestedOutput(string Name);

    public sealed record InferRequest(string? Id, IReadOnlyList<Tensor>? Inputs, IReadOnlyList<RequestedOutput>? Outputs);

    public sealed record OutputTensor(string Name, long[] Shape, string Datatype, object Data);

    public sealed record InferResponse(
        [property: JsonPropertyName("model_name")] string ModelName,
        [property: JsonPropertyName("model_version")] string ModelVersion,
        string? Id,
        IReadOnlyList<OutputTensor> Outputs);

    public sealed record ModelMetadataResponse(string Name, IReadOnlyList<string> Versions, string Platform, IReadOnlyList<TensorSpec> Inputs, IReadOnlyList<TensorSpec> Outputs);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static void MapOpenInferenceProtocol(this IEndpointRouteBuilder app)
    {
        var v2 = app.MapGroup("/v2");
        v2.MapGet("", () => new { name = "emo-serve", version = typeof(OpenInferenceProtocol).Assembly.GetName().Version?.ToString(), extensions = Array.Empty<string>() });
        v2.MapGet("/health/live", () => new { live = true });
        v2.MapGet("/health/ready", (Readiness readiness) => Results.Json(new { ready = readiness.IsReady }, statusCode: readiness.IsReady ? 200 : 503));
        foreach (var model in new[] { "/models/{name}", "/models/{name}/versions/{version}" })
        {
            v2.MapGet(model, Metadata).WithMetadata(new ModelRoute("metadata", Oip: true, Admit: false));
            v2.MapGet(model + "/ready", Ready).WithMetadata(new ModelRoute("ready", Oip: true, Admit: false));
            v2.MapPost(model + "/infer", InferAsync).WithMetadata(new ModelRoute("infer", Oip: true));
        }
    }

    private static ModelMetadataResponse Metadata(HttpContext http, Router router, string name, string? version)
    {
        using var lease = http.Serve(router, t => Described(t, name, version), $"model '{name}' is being unloaded");
        var versions = version is null
            ? router.Current.Routes.Where(r => r.Model.Name == name).Select(r => r.Model.Version.ToString(CultureInfo.InvariantCulture)).Order().ToList()
            : [version];
        return new ModelMetadataResponse(name, versions, "onnxruntime_onnx", lease.Model.Inputs, lease.Model.Outputs);
    }

    private static object Ready(HttpContext http, Router router, string name, string? version)
    {
        using var lease = http.Serve(router, t => Described(t, name, version), $"model '{name}' is being unloaded");
        return new { name, ready = true };
    }

    private static async Task<InferResponse> InferAsync(HttpContext http, Router router, string name, string? version)
    {
        if (http.Request.ContentLength == 0) throw Refusal.BadInput("the body is empty: send {\"inputs\": [{\"name\", \"shape\", \"datatype\", \"data\"}]}");
        var request = await JsonSerializer.DeserializeAsync<InferRequest>(http.Request.Body, Json, http.RequestAborted);
        if (request?.Inputs is not { Count: > 0 } inputs) throw Refusal.BadInput("the request has no inputs");
        if (inputs.Any(i => i?.Name is null) || request.Outputs?.Any(o => o?.Name is null) == true)
            throw Refusal.BadInput("every input and output needs a name");
        if (inputs.CountBy(i => i.Name).FirstOrDefault(n => n.Value > 1).Key is { } twice) throw Refusal.BadInput($"input {Refusal.Shown(twice)} is given twice");

        using var lease = await http.ServeInferenceAsync(router, t => Pick(t, name, version), $"no version of model '{name}' takes traffic: pin one with /versions/<v>");
        var model = lease.Model;
        var names = inputs.Select(i => i.Name).ToList();
        if (model.Inputs.Select(s => s.Name).Except(names).ToList() is { Count: > 0 } missing)
            throw Refusal.BadInput($"missing inputs: {string.Join(", ", missing)}");
        var outputs = (request.Outputs is { Count: > 0 } asked ? asked.Select(o => o.Name) : model.Outputs.Select(o => o.Name)).Distinct().ToList();
        if (outputs.Except(model.Outputs.Select(o => o.Name)).ToList() is { Count: > 0 } unknown)
            throw Refusal.BadInput($"model '{name}' has no output {string.Join(", ", unknown.Take(3).Select(Refusal.Shown))}; its outputs: {string.Join(", ", model.Outputs.Select(o => o.Name))}");

        var values = new List<OrtValue>();
        var sizes = new Dictionary<string, (long Size, string Input)>();
        try
        {
            foreach (var input in inputs) values.Add(ToOrt(input, model, sizes));
            using var results = model.Run(names, values, outputs);
            return new InferResponse(model.Name, model.Version.ToString(CultureInfo.InvariantCulture), request.Id,
                results.Select((r, i) => FromOrt(outputs[i], r)).ToList());
        }
        // Inputs are checked against the graph and the model's ranges above; should ONNX Runtime still refuse some, that is
        // the inputs' doing, never the version's — a 400 cannot count against a canary.
        catch (OnnxRuntimeException e)
        {
            throw Refusal.BadInput($"the model refused the inputs: {Refusal.Brief(e.Message)}");
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    /// <summary>The version an inference runs on: the pinned one, else a weighted choice. An unknown model or version
    /// is the caller's mistake (400).</summary>
    private static ServedModel? Pick(RoutingTable table, string name, string? version) =>
        version is null ? Known(table, name).Choose(m => m.Name == name) : Pinned(table, name, version);

    /// <summary>The version metadata and readiness describe: the pinned one, else the newest.</summary>
    private static ServedModel? Described(RoutingTable table, string name, string? version) =>
        version is null ? Known(table, name).Routes.Select(r => r.Model).Where(m => m.Name == name).MaxBy(m => m.Version) : Pinned(table, name, version);

    private static RoutingTable Known(RoutingTable table, string name) => table.Has(name) ? table : throw Refusal.BadInput($"unknown model {Refusal.Shown(name)}");

    private static ServedModel Pinned(RoutingTable table, string name, string version) =>
        !int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? throw Refusal.BadInput($"version must be a number, not {Refusal.Shown(version)}")
        : Known(table, name).Find(name, v) ?? throw Refusal.BadInput($"model '{name}' has no version {version} loaded");

    /// <summary>One input as ONNX Runtime takes it, once its name, datatype, shape (against the graph's and the other
    /// inputs' sizes in <paramref name="sizes"/>), values and the model's ranges (<see cref="ServedModel.Refuse(string, ReadOnlySpan{long})"/>)
    /// are checked: anything else is a 400 before the model runs.</summary>
    private static OrtValue ToOrt(Tensor input, ServedModel model, Dictionary<string, (long Size, string Input)> sizes)
    {
        var spec = model.Inputs.FirstOrDefault(s => s.Name == input.Name)
                   ?? throw Refusal.BadInput($"model '{model.Name}' has no input {Refusal.Shown(input.Name)}; its inputs: {string.Join(", ", model.Inputs.Select(s => s.Name))}");
        if (input.Datatype != spec.Datatype) throw Refusal.BadInput($"input '{input.Name}' is {Refusal.Shown(input.Datatype ?? "")}; the model takes {spec.Datatype}");
        if (input.Shape is null || input.Shape.Length != spec.Shape.Length || input.Shape.Where((d, i) => d is < 1 or > MaxDimension || spec.Shape[i] >= 0 && d != spec.Shape[i]).Any())
            throw Refusal.BadInput($"input '{input.Name}' has shape [{string.Join(",", (input.Shape ?? []).Take(8))}]; the model takes [{string.Join(",", spec.Shape)}] (-1: any size)");
        for (var i = 0; i < spec.Shape.Length; i++)
        {
            if (spec.Symbols[i] is not { Length: > 0 } symbol) continue;
            var first = sizes.GetValueOrDefault(symbol, (Size: input.Shape[i], Input: input.Name));
            if (first.Size != input.Shape[i])
                throw Refusal.BadInput($"inputs '{first.Input}' and '{input.Name}' differ in dimension {symbol} ({first.Size} and {input.Shape[i]}); the model takes them alike");
            sizes[symbol] = first;
        }
        // The rank is the graph's and each dimension at most MaxDimension, so the product cannot overflow.
        var count = input.Shape.Aggregate(1L, (a, d) => a * d);
        var data = new List<JsonElement>();
        Flatten(input.Data, data);
        if (data.Count != count) throw Refusal.BadInput($"input '{input.Name}' has {data.Count} values; shape [{string.Join(",", input.Shape)}] holds {count}");
        if (spec.Datatype == "INT64")
        {
            // ONNX reads a negative index from the end of a table: -1 would silently be the last user. Refused instead.
            long[] indices = [.. data.Select(e => e.TryGetInt64(out var x) && x >= 0 ? x : throw NotA("an index ≥ 0", input.Name))];
            return Checked(indices, model.Refuse(input.Name, indices), input.Shape);
        }
        float[] numbers = [.. data.Select(e => e.TryGetSingle(out var x) && float.IsFinite(x) ? x : throw NotA("a number within float32's range", input.Name))];
        return Checked(numbers, model.Refuse(input.Name, numbers), input.Shape);
    }

    private static OrtValue Checked<T>(T[] values, string? refusal, long[] shape) where T : unmanaged =>
        refusal is null ? OrtValue.CreateTensorValueFromMemory(values, shape) : throw Refusal.BadInput(refusal);

    /// <summary>No dimension of a request's tensor is larger: a request stays within the body limit anyway.</summary>
    private const long MaxDimension = 1_000_000;

    private static Refusal NotA(string what, string input) => Refusal.BadInput($"input '{input}' holds a value that is not {what}");

    /// <summary>The protocol allows data flat or nested by the shape (row-major either way).</summary>
    private static void Flatten(JsonElement data, List<JsonElement> into)
    {
        if (data.ValueKind != JsonValueKind.Array)
        {
            into.Add(data.ValueKind == JsonValueKind.Number ? data : throw Refusal.BadInput("tensor data must be numbers, flat or nested in arrays"));
            return;
        }
        foreach (var item in data.EnumerateArray()) Flatten(item, into);
    }

    /// <summary>Extreme inputs (3e38) overflow a model's arithmetic: that is the request's doing, a 400, not a 500 from a
    /// response JSON cannot carry.</summary>
    public static float[] Finite(float[] values) =>
        values.All(float.IsFinite) ? values : throw Refusal.BadInput("the inputs are far outside what the model was trained on: its outputs are not finite");

    private static OutputTensor FromOrt(string name, OrtValue value)
    {
        var info = value.GetTensorTypeAndShape();
        return info.ElementDataType switch
        {
            TensorElementType.Int64 => new OutputTensor(name, info.Shape, "INT64", value.GetTensorDataAsSpan<long>().ToArray()),
            _ => new OutputTensor(name, info.Shape, ServedModel.Datatype(info.ElementDataType), Finite(value.GetTensorDataAsSpan<float>().ToArray())),
        };
    }
}
