"""payment: payment orders for procedure fees, their VietQR payloads and (later) the bank's confirmations."""
