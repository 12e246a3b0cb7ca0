/*
 * api.h - the API handlers, one file per resource, each registering its
 * routes with the router (http/http.h). main.c calls api_register_all()
 * before the server starts.
 */
#ifndef TIXIN_API_API_H
#define TIXIN_API_API_H

void api_health_register(void);    /* api/health.c:   /healthz /readyz /metrics */
void api_accounts_register(void);  /* api/accounts.c: users, sessions, me */
void api_orgs_register(void);      /* api/orgs.c:     organizations, members, venues */
void api_events_register(void);    /* api/events.c:   create, patch, publish, stats */
void api_browse_register(void);    /* api/browse.c:   listings, event page, seat views */
void api_holds_register(void);     /* api/holds.c:    holds */
void api_orders_register(void);    /* api/orders.c:   orders, cancel, tickets, QR */
void api_checkins_register(void);  /* api/checkins.c: door check-in */
void api_live_register(void);      /* api/live.c:     the live seat map WebSocket */

static inline void api_register_all(void)
{
    api_health_register();
    api_accounts_register();
    api_orgs_register();
    api_events_register();
    api_browse_register();
    api_holds_register();
    api_orders_register();
    api_checkins_register();
    api_live_register();
}

#endif
