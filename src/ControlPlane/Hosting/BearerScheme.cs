using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace EventMlOps.ControlPlane.Hosting;

/// <summary>The OpenAPI document names how every <c>/api</c> call authenticates: a bearer JWT (clients generated from it
/// then know to send one).</summary>
public sealed class BearerScheme : IOpenApiDocumentTransformer
{
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken ct)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http, Scheme = "bearer", BearerFormat = "JWT",
            Description = "A token from `emo token` (issuer eventmlops); its roles decide what it may do.",
        };
        document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", document)] = [] }];
        return Task.CompletedTask;
    }
}
