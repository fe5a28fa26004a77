"""The admin's own words in Spanish, English and Portuguese, chosen by the merchant's admin
locale (Shopify adds ``locale`` to the app URL), then the browser's, then English."""
from __future__ import annotations

import re

LANGS = ("es", "en", "pt")

# key: (es, en, pt)
_TEXT: dict[str, tuple[str, str, str]] = {
    "app": ("Embajador", "Embajador", "Embajador"),
    "nav.home": ("Inicio", "Home", "Início"),
    "nav.program": ("Programa", "Program", "Programa"),
    "nav.customers": ("Clientes", "Customers", "Clientes"),
    "nav.referrals": ("Referidos", "Referrals", "Indicações"),
    "nav.emails": ("Correos", "Emails", "E-mails"),
    "nav.complaints": ("Reclamos y privacidad", "Complaints & privacy", "Reclamações e privacidade"),
    "nav.analytics": ("Analítica", "Analytics", "Análises"),
    "loading": ("Cargando…", "Loading…", "Carregando…"),
    "save": ("Guardar", "Save", "Salvar"),
    "discard": ("Descartar", "Discard", "Descartar"),
    "saved": ("Cambios guardados", "Changes saved", "Alterações salvas"),
    "error": ("Error", "Error", "Erro"),
    "fix_fields": ("Revisa los campos marcados", "Check the highlighted fields", "Revise os campos marcados"),
    "onb.title": ("Primeros pasos", "Get started", "Primeiros passos"),
    "onb.program": ("Elige tu programa", "Choose your program", "Escolha seu programa"),
    "onb.sender": ("Verifica el remitente con un envío de prueba",
                   "Verify the sender with a test email",
                   "Verifique o remetente com um envio de teste"),
    "onb.theme": ("Activa el widget en tu tema", "Turn on the widget in your theme",
                  "Ative o widget no seu tema"),
    "onb.theme_open": ("Abrir el editor de temas", "Open the theme editor", "Abrir o editor de temas"),
    "onb.theme_done": ("Ya lo activé", "I turned it on", "Já ativei"),
    "onb.import": ("Importa tus clientes", "Import your customers", "Importe seus clientes"),
    "onb.import_start": ("Importar ahora", "Import now", "Importar agora"),
    "onb.live": ("¡Estás en vivo!", "You're live!", "Você está no ar!"),
    "onb.go_live": ("Activar el programa", "Go live", "Ativar o programa"),
    "onb.live_text": ("Tus clientes ya ganan puntos, suben de nivel y recomiendan tu tienda.",
                      "Your customers now earn points, reach tiers and refer your store.",
                      "Seus clientes já ganham pontos, sobem de nível e indicam sua loja."),
    "onb.send_test": ("Enviar prueba", "Send test", "Enviar teste"),
    "onb.use": ("Usar este", "Use this one", "Usar este"),
    "done": ("Listo", "Done", "Concluído"),
    "todo": ("Pendiente", "To do", "Pendente"),
    "preset.simple": ("Puntos simples", "Simple points", "Pontos simples"),
    "preset.simple.d": ("Puntos por cada compra y recompensas. Sin niveles.",
                        "Points on every order and rewards. No tiers.",
                        "Pontos em cada compra e recompensas. Sem níveis."),
    "preset.vip": ("Puntos + niveles VIP", "Points + VIP tiers", "Pontos + níveis VIP"),
    "preset.vip.d": ("Niveles por gasto que multiplican los puntos.", "Spend-based tiers that multiply points.",
                     "Níveis por gasto que multiplicam os pontos."),
    "preset.referrals": ("Referidos primero", "Referrals first", "Indicações primeiro"),
    "preset.referrals.d": ("Premios generosos por recomendar; niveles por referidos.",
                           "Generous referral rewards; tiers by referrals.",
                           "Prêmios generosos por indicação; níveis por indicações."),
    "preview": ("Vista previa", "Preview", "Prévia"),
    "preview.order": ("Un pedido de {total} da {points} puntos", "An order of {total} earns {points} points",
                      "Um pedido de {total} dá {points} pontos"),
    "preview.orders": ("{n} pedidos hasta «{reward}»", "{n} orders to “{reward}”", "{n} pedidos até “{reward}”"),
    "prog.earn": ("Acumulación", "Earning", "Acúmulo"),
    "prog.points": ("Puntos", "Points", "Pontos"),
    "prog.per_amount": ("por cada", "per", "a cada"),
    "prog.pending_days": ("Días pendientes", "Pending days", "Dias pendentes"),
    "prog.on": ("Al evento", "On", "No evento"),
    "prog.actions": ("Acciones", "Actions", "Ações"),
    "prog.tiers": ("Niveles", "Tiers", "Níveis"),
    "prog.tier_period": ("Periodo", "Period", "Período"),
    "prog.name": ("Nombre", "Name", "Nome"),
    "prog.metric": ("Métrica", "Metric", "Métrica"),
    "prog.threshold": ("Umbral", "Threshold", "Limite"),
    "prog.multiplier": ("Multiplicador", "Multiplier", "Multiplicador"),
    "prog.add_tier": ("Agregar nivel", "Add tier", "Adicionar nível"),
    "prog.remove": ("Quitar", "Remove", "Remover"),
    "prog.document": ("Documento completo (recompensas, referidos, vencimiento, carritos)",
                      "Full document (rewards, referral, expiry, checkouts)",
                      "Documento completo (recompensas, indicações, validade, carrinhos)"),
    "prog.history": ("Historial de versiones", "Version history", "Histórico de versões"),
    "prog.rollback": ("Restaurar", "Restore", "Restaurar"),
    "cust.search": ("Buscar por correo o nombre", "Search by email or name", "Buscar por e-mail ou nome"),
    "cust.balance": ("Saldo", "Balance", "Saldo"),
    "cust.pending": ("pendientes", "pending", "pendentes"),
    "cust.tier": ("Nivel", "Tier", "Nível"),
    "cust.ledger": ("Movimientos", "Ledger", "Movimentos"),
    "cust.adjust": ("Ajustar puntos", "Adjust points", "Ajustar pontos"),
    "cust.reason": ("Motivo (obligatorio)", "Reason (required)", "Motivo (obrigatório)"),
    "cust.birthday": ("Cumpleaños", "Birthday", "Aniversário"),
    "cust.emails": ("Correos enviados", "Emails sent", "E-mails enviados"),
    "cust.surveys": ("Encuestas", "Surveys", "Pesquisas"),
    "cust.referrals": ("Referidos", "Referrals", "Indicações"),
    "ref.held": ("Retenidos para revisión", "Held for review", "Retidos para revisão"),
    "ref.approve": ("Aprobar", "Approve", "Aprovar"),
    "ref.reject": ("Rechazar", "Reject", "Rejeitar"),
    "ref.successful": ("Exitosos", "Successful", "Bem-sucedidas"),
    "ref.leaderboard": ("Embajadores destacados", "Top advocates", "Principais embaixadores"),
    "ref.none": ("No hay referidos retenidos.", "No held referrals.", "Nenhuma indicação retida."),
    "em.flows": ("Flujos de correo", "Email flows", "Fluxos de e-mail"),
    "em.kind": ("Tipo de consentimiento", "Consent kind", "Tipo de consentimento"),
    "em.marketing": ("Marketing", "Marketing", "Marketing"),
    "em.transactional": ("Transaccional", "Transactional", "Transacional"),
    "em.preview": ("Ver", "Preview", "Ver"),
    "em.test": ("Enviarme una prueba", "Send me a test", "Enviar um teste para mim"),
    "comp.title": ("Reclamos", "Complaints", "Reclamações"),
    "comp.answer": ("Responder", "Reply", "Responder"),
    "comp.close": ("Cerrar", "Close", "Fechar"),
    "comp.none": ("No hay reclamos.", "No complaints.", "Nenhuma reclamação."),
    "priv.title": ("Solicitudes de datos (customers/data_request)", "Data requests (customers/data_request)",
                   "Solicitações de dados (customers/data_request)"),
    "priv.due": ("Vence", "Due", "Prazo"),
    "priv.download": ("Descargar", "Download", "Baixar"),
    "an.title": ("Analítica", "Analytics", "Análises"),
    "an.csv": ("Exportar CSV", "Export CSV", "Exportar CSV"),
    "an.definition": ("Definición", "Definition", "Definição"),
}


def choose_lang(*candidates: str | None) -> str:
    """The first of ``candidates`` (``es-CL``, ``pt_BR``, an Accept-Language header…) we speak."""
    for candidate in candidates:
        for part in re.split(r"[,;\s]+", candidate or ""):
            lang = re.split(r"[-_]", part.strip().lower(), maxsplit=1)[0]
            if lang in LANGS:
                return lang
    return "en"


def strings(lang: str) -> dict[str, str]:
    index = LANGS.index(lang) if lang in LANGS else 1
    return {key: texts[index] for key, texts in _TEXT.items()}
