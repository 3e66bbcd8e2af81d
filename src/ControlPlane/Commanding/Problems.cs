namespace EventMlOps.ControlPlane.Commanding;

/// <summary>Input that can never be valid (HTTP 400), naming the offending field.</summary>
public sealed class InvalidField(string field, string reason) : Exception($"{field}: {reason}")
{
    public string Field { get; } = field;
    public string Reason { get; } = reason;
}

/// <summary>A referenced stream or view does not exist (HTTP 404).</summary>
public sealed class NotFound(string what, string id) : Exception($"{what} {Guard.Shown(id)} does not exist")
{
    public string What { get; } = what;
    public string Id { get; } = id.Length <= 64 ? id : id[..64] + "…";
}

/// <summary>A well-formed command refused by an invariant (HTTP 422, or the error queue on the bus).</summary>
public sealed class Refused(string reason) : Exception(reason);

/// <summary>The same operation is already under way and may not run twice at once (HTTP 409).</summary>
public sealed class Busy(string reason) : Exception(reason);

/// <summary>A name that must be unique is taken (HTTP 409): an MLflow experiment's.</summary>
public sealed class AlreadyExists(string reason) : Exception(reason);

/// <summary>The sender is authenticated but lacks the role the command needs (HTTP 403).</summary>
public sealed class Forbidden(string reason) : Exception(reason);

/// <summary>The command could not be committed now; nothing of it was kept, and a retry with its command id is safe (HTTP 503).</summary>
public sealed class Unavailable(string reason) : Exception(reason);

/// <summary>The message carried no valid token (HTTP 401, or the error queue on the bus).</summary>
public sealed class Unauthenticated(string reason) : Exception(reason);

/// <summary>The command id was handled before: nothing new is appended.</summary>
public sealed class AlreadyHandled(Guid commandId) : Exception($"command {commandId} was already handled")
{
    public Guid CommandId { get; } = commandId;
}

/// <summary>Small guards used by the pure decisions.</summary>
public static class Guard
{
    public static string Name(string field, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
            throw new InvalidField(field, "is required");
        if (value.Length > 63 || !System.Text.RegularExpressions.Regex.IsMatch(value, "^[a-z0-9][a-z0-9._-]*\\z"))
            throw new InvalidField(field, $"{Shown(value)} must be 1-63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit");
        return value;
    }

    /// <summary>A metric, parameter or tag name (MLflow's alphabet plus '@', as in <c>hr@10</c>).</summary>
    public static string Key(string field, string? value) =>
        value is { Length: > 0 and <= 250 } && System.Text.RegularExpressions.Regex.IsMatch(value, "^[A-Za-z0-9_.\\-/ @]+\\z")
            ? value
            : throw new InvalidField(field, $"{Shown(value)} must be 1-250 letters, digits, '_', '-', '.', '/', ' ' or '@'");

    public static string Required(string field, string? value) =>
        string.IsNullOrWhiteSpace(value) ? throw new InvalidField(field, "is required") : value;

    public static string Sha256(string field, string? value) =>
        value is { Length: 64 } && value.All(char.IsAsciiHexDigitLower)
            ? value
            : throw new InvalidField(field, "must be 64 lowercase hex characters (a sha256 digest)");

    /// <summary>A value as an error may quote it: short printable values in quotes, anything else only described.</summary>
    public static string Shown(string? value) =>
        value is null ? "null" : value.Length <= 64 && !Inputs.HasControl(value) ? $"'{value}'" : $"a value of {value.Length} characters";

    /// <summary>Text a person wrote (a comment, a reason): at most 4 KiB.</summary>
    public static string? Text(string field, string? value, int max = 4096) =>
        value is { Length: var n } && n > max ? throw new InvalidField(field, $"is {n} characters long; at most {max} are accepted") : value;

    public static void Id(string field, Guid value)
    {
        if (value == Guid.Empty) throw new InvalidField(field, "is required");
    }
}
