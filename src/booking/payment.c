/*
 * payment.c - the provider table and the "test" provider.
 *
 * The test provider is the contract's: token "tok_visa" is accepted, every
 * other token is declined. It is what the API tests, the demo and the load
 * tests pay with, so it is always compiled in; real providers are added as
 * rows of the same table.
 */
#include "booking/payment.h"

#include <stdio.h>
#include <string.h>
#include "core/util.h"

static err_code test_charge(const char *token, int64_t amount_cents, const char *currency, char *ref, size_t reflen)
{
    (void)amount_cents, (void)currency;
    if (strcmp(token, "tok_visa") != 0)
        return E_PAYMENT_DECLINED;
    id_new("ch", ref, reflen);
    return E_OK;
}

static err_code test_refund(const char *ref, int64_t amount_cents, const char *currency)
{
    (void)ref, (void)amount_cents, (void)currency;
    return E_OK;
}

static const payment_provider providers[] = {
    {"test", test_charge, test_refund},
};

const payment_provider *payment_find(const char *method)
{
    for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++)
        if (strcmp(providers[i].method, method) == 0)
            return &providers[i];
    return NULL;
}

err_code payment_charge(const json_t *payment, int64_t amount_cents, const char *currency, char *ref,
                        size_t reflen, const char **field)
{
    const char *method = json_string_value(json_object_get(payment, "method"));
    const char *token = json_string_value(json_object_get(payment, "token"));
    const payment_provider *p = method != NULL ? payment_find(method) : NULL;
    if (p == NULL) {
        *field = "payment.method";
        return E_INVALID_FIELD;
    }
    if (token == NULL) {
        *field = "payment.token";
        return E_INVALID_FIELD;
    }
    char id[128];
    err_code e = p->charge(token, amount_cents, currency, id, sizeof(id));
    if (e == E_OK)
        snprintf(ref, reflen, "%s:%s", p->method, id);
    return e;
}

err_code payment_refund(const char *ref, int64_t amount_cents, const char *currency)
{
    const char *colon = strchr(ref, ':');
    char method[64];
    if (colon == NULL || (size_t)(colon - ref) >= sizeof(method))
        return E_INTERNAL;
    memcpy(method, ref, (size_t)(colon - ref));
    method[colon - ref] = '\0';
    const payment_provider *p = payment_find(method);
    return p != NULL ? p->refund(colon + 1, amount_cents, currency) : E_INTERNAL;
}
