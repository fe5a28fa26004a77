"""What each figure means, in the merchant's language (es/en/pt)."""
from __future__ import annotations

# id: {lang: (title, definition)}
DEFINITIONS: dict[str, dict[str, tuple[str, str]]] = {
    "members_vs_non_members": {
        "es": ("Miembros vs no miembros", "Clientes con pedidos. Miembro: tiene al menos un movimiento de puntos "
               "(los inscritos automáticamente cuentan desde el primero). Recompra: 2 o más pedidos no cancelados. "
               "Ticket medio: ingresos tras reembolsos / pedidos."),
        "en": ("Members vs non-members", "Customers with orders. Member: has at least one points ledger entry "
               "(auto-enrolled customers count from their first). Repeat: 2+ non-cancelled orders. "
               "AOV: revenue after refunds / orders."),
        "pt": ("Membros vs não membros", "Clientes com pedidos. Membro: tem ao menos um movimento de pontos "
               "(inscritos automaticamente contam desde o primeiro). Recompra: 2+ pedidos não cancelados. "
               "Ticket médio: receita após reembolsos / pedidos."),
    },
    "monthly_revenue": {
        "es": ("Ingresos por mes", "Suma de pedidos no cancelados (tras reembolsos, moneda de la tienda) por mes "
               "de compra (UTC), miembros vs no miembros."),
        "en": ("Revenue per month", "Sum of non-cancelled orders (after refunds, shop currency) by order month "
               "(UTC), members vs non-members."),
        "pt": ("Receita por mês", "Soma dos pedidos não cancelados (após reembolsos, moeda da loja) por mês (UTC), "
               "membros vs não membros."),
    },
    "retention_cohorts": {
        "es": ("Retención por cohorte", "Cohorte: mes del primer pedido. mN: % de la cohorte que volvió a comprar "
               "N meses después."),
        "en": ("Retention by cohort", "Cohort: month of the first order. mN: % of the cohort that ordered again "
               "N months later."),
        "pt": ("Retenção por coorte", "Coorte: mês do primeiro pedido. mN: % da coorte que comprou de novo N meses "
               "depois."),
    },
    "points_flow": {
        "es": ("Puntos emitidos, canjeados y vencidos", "Emitidos: compras, acciones, referidos, bonos y ajustes "
               "positivos. Canjeados: recompensas menos devoluciones. Tasa de canje = canjeados / emitidos."),
        "en": ("Points issued, redeemed and expired", "Issued: orders, actions, referrals, bonuses and positive "
               "adjustments. Redeemed: rewards minus returned points. Redemption rate = redeemed / issued."),
        "pt": ("Pontos emitidos, resgatados e expirados", "Emitidos: compras, ações, indicações, bônus e ajustes "
               "positivos. Resgatados: recompensas menos devoluções. Taxa de resgate = resgatados / emitidos."),
    },
    "tier_distribution": {
        "es": ("Miembros por nivel", "Miembros (con movimientos de puntos) según su nivel actual."),
        "en": ("Members per tier", "Members (with ledger entries) by their current tier."),
        "pt": ("Membros por nível", "Membros (com movimentos de pontos) pelo nível atual."),
    },
    "referral_funnel": {
        "es": ("Embudo de referidos", "Clics en enlaces; amigos: visitantes distintos; primeros pedidos atribuidos; "
               "exitosos: aprobados con puntos para el embajador."),
        "en": ("Referral funnel", "Link clicks; friends: distinct visitors; attributed first orders; successful: "
               "approved with points for the advocate."),
        "pt": ("Funil de indicações", "Cliques; amigos: visitantes distintos; primeiros pedidos atribuídos; "
               "bem-sucedidas: aprovadas com pontos para o embaixador."),
    },
    "recovery": {
        "es": ("Carritos recuperados por paso", "Tasa: carritos recuperados / correos enviados de ese paso. "
               "Ingresos: total del pedido atribuido al paso (7 días o código de incentivo)."),
        "en": ("Checkouts recovered per step", "Rate: checkouts recovered / emails sent at that step. Revenue: order "
               "total credited to the step (within 7 days, or its incentive code)."),
        "pt": ("Carrinhos recuperados por etapa", "Taxa: carrinhos recuperados / e-mails enviados na etapa. Receita: "
               "total do pedido atribuído à etapa (7 dias ou código de incentivo)."),
    },
    "feedback_scores": {
        "es": ("NPS / CSAT / CES", "NPS: % 9-10 menos % 0-6. CSAT: % de 4-5. CES: promedio 1-7. Por mes de respuesta."),
        "en": ("NPS / CSAT / CES", "NPS: % 9-10 minus % 0-6. CSAT: % of 4-5. CES: average 1-7. By response month."),
        "pt": ("NPS / CSAT / CES", "NPS: % 9-10 menos % 0-6. CSAT: % de 4-5. CES: média 1-7. Por mês de resposta."),
    },
    "email_rates": {
        "es": ("Correos por flujo", "Enviados; entregados / enviados; aperturas y clics / entregados (eventos de "
               "SendGrid, un mensaje cuenta una vez)."),
        "en": ("Emails per flow", "Sent; delivered / sent; opens and clicks / delivered (SendGrid events, each "
               "message counted once)."),
        "pt": ("E-mails por fluxo", "Enviados; entregues / enviados; aberturas e cliques / entregues (eventos do "
               "SendGrid, cada mensagem conta uma vez)."),
    },
    "liability": {
        "es": ("Pasivo de puntos", "Puntos disponibles + pendientes × valor del punto (point_value, o la recompensa "
               "de monto fijo más barata por punto)."),
        "en": ("Points liability", "Available + pending points × point value (point_value, or the cheapest "
               "fixed-amount reward per point)."),
        "pt": ("Passivo de pontos", "Pontos disponíveis + pendentes × valor do ponto (point_value, ou a recompensa "
               "de valor fixo mais barata por ponto)."),
    },
    "redemption_rate": {
        "es": ("Tasa de canje", "Puntos canjeados / puntos emitidos, desde el inicio."),
        "en": ("Redemption rate", "Points redeemed / points issued, all time."),
        "pt": ("Taxa de resgate", "Pontos resgatados / pontos emitidos, desde o início."),
    },
}


def describe(figure: str, lang: str) -> tuple[str, str]:
    texts = DEFINITIONS[figure]
    return texts.get(lang) or texts["en"]
