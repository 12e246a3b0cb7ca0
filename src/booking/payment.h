/*
 * payment.h - payment providers behind one interface.
 *
 * An order's payment names a method ("test", later real ones); the method
 * picks a provider from a table. A provider charges an amount and returns
 * a reference that the order keeps ("<method>:<provider's id>"), by which
 * a refund later finds the same provider again.
 *
 * The store calls these while it holds the write transaction, so a
 * provider that talks to the network must answer quickly or be moved off
 * the writer thread (a later step: authorise before the job, capture in it).
 */
#ifndef TIXIN_BOOKING_PAYMENT_H
#define TIXIN_BOOKING_PAYMENT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "core/errors.h"

typedef struct {
    const char *method;
    /* E_OK with the provider's charge id in ref, or E_PAYMENT_DECLINED */
    err_code (*charge)(const char *token, int64_t amount_cents, const char *currency, char *ref, size_t reflen);
    /* E_OK when the charge named by ref (provider's id) is refunded */
    err_code (*refund)(const char *ref, int64_t amount_cents, const char *currency);
} payment_provider;

/* The provider of a method, or NULL when unknown. */
const payment_provider *payment_find(const char *method);

/* Charge payment {method, token}. On E_OK, ref holds "<method>:<id>".
 * E_INVALID_FIELD with *field set ("payment.method" unknown method,
 * "payment.token" missing token), or the provider's error. */
err_code payment_charge(const json_t *payment, int64_t amount_cents, const char *currency, char *ref,
                        size_t reflen, const char **field);

/* Refund the charge named by an order's payment ref. */
err_code payment_refund(const char *ref, int64_t amount_cents, const char *currency);

#endif
