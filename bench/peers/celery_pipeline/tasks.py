"""Celery tasks: open the case, then send the SMS through the gateway. acks_late, retried on errors."""
from __future__ import annotations

import os

import requests
from celery import Celery
from sqlalchemy import select

from .models import Case, Dossier, Session, Sms

celery = Celery("peer", broker=os.environ.get("PEER_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"))
celery.conf.update(
    task_acks_late=True,               # ack after the task ran: a worker dying mid-task gets it redelivered
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
)
SMS_URL = os.environ.get("PEER_SMS_URL", "http://127.0.0.1:8103").rstrip("/") + "/v1/messages"
http = requests.Session()  # one keep-alive session per worker process


@celery.task(bind=True, max_retries=10, default_retry_delay=1)
def open_case(self, dossier_id: int) -> None:
    try:
        with Session.begin() as session:
            if session.scalar(select(Case.id).where(Case.dossier_id == dossier_id)) is None:
                session.add(Case(dossier_id=dossier_id))
    except Exception as exc:  # noqa: BLE001 - a locked database and the like: try again later
        raise self.retry(exc=exc)
    send_sms.delay(dossier_id)


@celery.task(bind=True, max_retries=10, default_retry_delay=1)
def send_sms(self, dossier_id: int) -> None:
    with Session() as session:
        dossier = session.get(Dossier, dossier_id)
    body = {"message_id": f"peer-sms-{dossier_id}", "channel": "sms", "to": dossier.phone,
            "text": f"Hồ sơ {dossier.code} đã được tiếp nhận. Tra cứu tại cổng Dịch vụ công."}
    try:
        answer = http.post(SMS_URL, json=body, timeout=5)
        answer.raise_for_status()
    except requests.RequestException as exc:
        raise self.retry(exc=exc)
    with Session.begin() as session:
        session.add(Sms(dossier_id=dossier_id, status="sent"))
