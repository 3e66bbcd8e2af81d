using EventMlOps.Contracts.Training;
using EventMlOps.ControlPlane.Commanding;

namespace EventMlOps.ControlPlane.WorkOrders;

public static class WorkOrdersApi
{
    public static void MapWorkOrders(this IEndpointRouteBuilder api) => api.MapCommand<RequestWorkOrders>("/work-orders");
}
