using System.Text.Json;
using System.Text.Json.Serialization;

namespace EventMlOps.Hosting;

/// <summary>JSON on the wire (HTTP and bus): web defaults, enums as strings, nullable annotations and required
/// constructor parameters respected so that a missing field is a 400, not a null deep inside.</summary>
public static class WireJson
{
    public static void Configure(JsonSerializerOptions o)
    {
        o.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        o.PropertyNameCaseInsensitive = true;
        o.RespectNullableAnnotations = true;
        o.RespectRequiredConstructorParameters = true;
        // Names only: `"kind": 7` is no rollout kind.
        o.Converters.Add(new JsonStringEnumConverter(allowIntegerValues: false));
    }
}
