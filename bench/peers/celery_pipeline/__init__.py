"""The filing -> case -> SMS pipeline as most Python teams would build it: Flask + SQLAlchemy, Celery tasks on
RabbitMQ sent after the database commit, acks_late. Measured by bench/peer.py beside the suite; never imported
by the suite (import-linter contract in pyproject.toml).

    PEER_DATABASE_URL   SQLAlchemy URL (sqlite:///... or postgresql://...)
    PEER_BROKER_URL     amqp://... (Celery's broker)
    PEER_SMS_URL        the SMS gateway simulator (motcua_sims.sms_gateway), e.g. http://127.0.0.1:8103
"""
