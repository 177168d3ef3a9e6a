using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Grpo.Cli.Serve;

/// <summary>
/// A refused request, as the OpenAI API and vLLM answer one: an HTTP status and the body
/// <c>{"error": {"message", "type", "param", "code"}}</c>, with vLLM's type names (BadRequestError, NotFoundError, ...)
/// and the status as the code. Thrown anywhere in a request's handling; the endpoint turns it into the response, so a
/// bad request never reaches the model and the server keeps serving.
/// </summary>
sealed class OpenAiError(int status, string type, string message, string? param = null) : Exception(message)
{
    public int Status { get; } = status;
    public string Type { get; } = type;
    public string? Param { get; } = param;

    /// <summary>400: the request is malformed or asks for something out of range.</summary>
    public static OpenAiError BadRequest(string message, string? param = null) => new(StatusCodes.Status400BadRequest, "BadRequestError", message, param);

    /// <summary>404: the model, adapter or adapter folder named does not exist.</summary>
    public static OpenAiError NotFound(string message, string? param = null) => new(StatusCodes.Status404NotFound, "NotFoundError", message, param);

    /// <summary>The JSON body of this error.</summary>
    public JsonObject Body() => new()
    {
        ["error"] = new JsonObject { ["message"] = Message, ["type"] = Type, ["param"] = Param, ["code"] = Status },
    };

    /// <summary>Writes this error as the response.</summary>
    public Task WriteAsync(HttpResponse response)
    {
        response.StatusCode = Status;
        response.ContentType = "application/json";
        return response.WriteAsync(Body().ToJsonString(OpenAiResponses.Json));
    }
}
