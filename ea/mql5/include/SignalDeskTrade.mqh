//+------------------------------------------------------------------+
//| SignalDeskTrade.mqh: commands -> orders (OrderSend), and acks    |
//| Mirrors ea/client_exec.py and trading/brokers/mt5.py: command    |
//| validation, local guards (netting included), open (limit/market, |
//| the filling mode chosen per symbol and order type, magic, the    |
//| server's comment), modify, cancel, close (our share only, on     |
//| hedging and netting accounts alike).                             |
//| Every request is built here and sent with OrderSend, so nothing  |
//| depends on CTrade's defaults (FOK filling, hedging-only partial  |
//| closes). Each call ends in one of three outcomes:                |
//|   DONE     an ack to record (refusals included: "rejected")      |
//|   UNSURE   no answer (10012 timeout, 10031 no connection): the   |
//|            order may exist; it is looked up, never sent again    |
//|   NOT_NOW  nothing reached the broker (10027 AutoTrading off):   |
//|            the command stays pending at the server               |
//| Times on the wire are UTC Unix seconds; MT5 stamps server time.  |
//+------------------------------------------------------------------+
#include "SignalDeskJson.mqh"

//--- the ack statuses this EA sends (a subset of the protocol's; checked by
//--- tests/ea_client/test_mql5_source.py)
#define SD_ACK_PLACED    "placed"
#define SD_ACK_FILLED    "filled"
#define SD_ACK_REJECTED  "rejected"
#define SD_ACK_FAILED    "failed"
#define SD_ACK_CANCELLED "cancelled"
#define SD_ACK_CLOSED    "closed"

enum ENUM_SD_OUTCOME
  {
   SD_OUTCOME_DONE,
   SD_OUTCOME_UNSURE,
   SD_OUTCOME_NOT_NOW
  };

struct SdResult
  {
   ENUM_SD_OUTCOME   outcome;
   string            status;
   string            ack;          // the ack JSON (outcome DONE)
   long              ticket;       // order, or position once filled
   double            price;
   double            volume;       // the filled / closed volume
   long              time;         // UTC
   string            why;          // UNSURE / NOT_NOW: the reason, for the log
  };

//--- seconds to add to UTC to get the trade server's clock (whole quarter hours)
long SdServerOffset()
  {
   return (long)MathRound((double)(TimeTradeServer()-TimeGMT())/900.0)*900;
  }

long SdUtc(const datetime server_time) { return (long)server_time-SdServerOffset(); }

int SdDigits(const string symbol) { return (int)SymbolInfoInteger(symbol,SYMBOL_DIGITS); }

bool SdIsHedging()
  {
   return AccountInfoInteger(ACCOUNT_MARGIN_MODE)==ACCOUNT_MARGIN_MODE_RETAIL_HEDGING;
  }

//--- the filling mode of an order, as trading/brokers/mt5_convert.py filling() chooses it:
//--- pending orders RETURN; market orders FOK if the symbol allows it, else IOC, else RETURN
//--- (a symbol without FOK and IOC flags: exchange or instant execution)
ENUM_ORDER_TYPE_FILLING SdFilling(const string symbol,const bool market)
  {
   if(!market)
      return ORDER_FILLING_RETURN;
   long flags=SymbolInfoInteger(symbol,SYMBOL_FILLING_MODE);
   if((flags&SYMBOL_FILLING_FOK)!=0)
      return ORDER_FILLING_FOK;
   if((flags&SYMBOL_FILLING_IOC)!=0)
      return ORDER_FILLING_IOC;
   return ORDER_FILLING_RETURN;
  }

//--- why no order can be sent right now ("" = it can): trading/brokers/mt5.py trading_blocked
string SdTradingBlocked()
  {
   if(!TerminalInfoInteger(TERMINAL_CONNECTED))
      return "the terminal is not connected to the trade server";
   if(!TerminalInfoInteger(TERMINAL_TRADE_ALLOWED))
      return "AutoTrading is off in the terminal (press 'Algo Trading')";
   if(!MQLInfoInteger(MQL_TRADE_ALLOWED))
      return "algo trading is not allowed for this EA (its properties: 'Allow Algo Trading')";
   if(!AccountInfoInteger(ACCOUNT_TRADE_ALLOWED))
      return "trading is not allowed on this account (investor login?)";
   if(!AccountInfoInteger(ACCOUNT_TRADE_EXPERT))
      return "the broker does not allow automated trading on this account";
   return "";
  }

//--- the symbol's spread now, in points (SYMBOL_SPREAD), for a fill's ack; -1 = unknown
long SdSpread(const string symbol)
  {
   if(symbol=="")
      return -1;
   long spread=SymbolInfoInteger(symbol,SYMBOL_SPREAD);
   return spread>=0 && spread<=100000 ? spread : -1;
  }

//--- one ack as JSON, keys in the order of ea/client_wire.py Ack.to_json (unknown: null);
//--- spread_points (a fill's spread) only when known, as the Python EA sends it
string SdAck(const string id,const string status,const long ticket,const double price,
             const double volume,const long time_utc,const string error,
             const long spread_points=-1)
  {
   return "{"+SdPairStr("command_id",id)+","+SdPairStr("status",status)+","
          +(ticket>0 ? SdPairInt("ticket",ticket) : SdPairNull("ticket"))+","
          +(price>0 ? SdPairNum("price",price) : SdPairNull("price"))+","
          +(volume>0 ? SdPairNum("volume",volume) : SdPairNull("volume"))+","
          +(time_utc>0 ? SdPairInt("time",time_utc) : SdPairNull("time"))+","
          +(error!="" ? SdPairStr("error",StringSubstr(error,0,250)) : SdPairNull("error"))
          +(spread_points>=0 ? ","+SdPairInt("spread_points",spread_points) : "")+"}";
  }

void SdDone(SdResult &r,const string id,const string status,const long ticket,
            const double price,const double volume,const long time_utc,const string error,
            const long spread_points=-1)
  {
   r.outcome=SD_OUTCOME_DONE;
   r.status=status;
   r.ticket=ticket;
   r.price=price;
   r.volume=volume;
   r.time=time_utc;
   r.why="";
   r.ack=SdAck(id,status,ticket,price,volume,time_utc,error,spread_points);
  }

void SdRefuse(SdResult &r,const string id,const string error)
  {
   SdDone(r,id,SD_ACK_REJECTED,0,0,0,(long)TimeGMT(),error);
  }

string SdRetcodeText(const uint code)
  {
   switch(code)
     {
      case TRADE_RETCODE_REQUOTE:          return "requote";
      case TRADE_RETCODE_REJECT:           return "request rejected";
      case TRADE_RETCODE_CANCEL:           return "request cancelled by the trader";
      case TRADE_RETCODE_ERROR:            return "request processing error";
      case TRADE_RETCODE_TIMEOUT:          return "request timed out";
      case TRADE_RETCODE_INVALID:          return "invalid request";
      case TRADE_RETCODE_INVALID_VOLUME:   return "invalid volume";
      case TRADE_RETCODE_INVALID_PRICE:    return "invalid price";
      case TRADE_RETCODE_INVALID_STOPS:    return "invalid stops";
      case TRADE_RETCODE_TRADE_DISABLED:   return "trading disabled for the symbol";
      case TRADE_RETCODE_MARKET_CLOSED:    return "market closed";
      case TRADE_RETCODE_NO_MONEY:         return "not enough money";
      case TRADE_RETCODE_PRICE_CHANGED:    return "prices changed";
      case TRADE_RETCODE_PRICE_OFF:        return "no quotes";
      case TRADE_RETCODE_INVALID_EXPIRATION:return "invalid expiration";
      case TRADE_RETCODE_TOO_MANY_REQUESTS:return "too many requests";
      case TRADE_RETCODE_SERVER_DISABLES_AT:return "algo trading disabled by the server";
      case TRADE_RETCODE_CLIENT_DISABLES_AT:return "algo trading disabled in the terminal";
      case TRADE_RETCODE_INVALID_FILL:     return "unsupported filling mode";
      case TRADE_RETCODE_CONNECTION:       return "no connection with the trade server";
      case TRADE_RETCODE_LIMIT_ORDERS:     return "pending orders limit reached";
      case TRADE_RETCODE_LIMIT_VOLUME:     return "volume limit reached";
      case TRADE_RETCODE_INVALID_ORDER:    return "invalid or prohibited order type";
      case TRADE_RETCODE_POSITION_CLOSED:  return "position already closed";
      case TRADE_RETCODE_LIMIT_POSITIONS:  return "open positions limit reached";
     }
   return "";
  }

string SdTradeError(const string what,const uint code,const string server_comment)
  {
   string text=StringFormat("%s: retcode %u %s",what,code,SdRetcodeText(code));
   if(server_comment!="")
      text+=" (server: "+server_comment+")";
   return text;
  }

bool SdSucceeded(const uint code)
  {
   return code==TRADE_RETCODE_DONE || code==TRADE_RETCODE_PLACED
          || code==TRADE_RETCODE_DONE_PARTIAL;
  }

//--- select an open position by ticket, or by its identifier (a netting position's id is
//--- what deals carry); true when one is selected
bool SdSelectPosition(const long ticket)
  {
   if(ticket<=0)
      return false;
   if(PositionSelectByTicket((ulong)ticket))
      return true;
   for(int i=PositionsTotal()-1;i>=0;i--)
      if(PositionGetTicket(i)>0 && PositionGetInteger(POSITION_IDENTIFIER)==ticket)
         return true;
   return false;
  }

//--- why a command cannot be executed as sent ("" = it can): the checks of
//--- ea/client_wire.py parse_command and ea/client_exec.py Executor.request/guard, with
//--- their messages; such a command is acked "rejected", never guessed at
string SdCheckCommand(CSdJson *cmd)
  {
   string type=cmd.Str("type");
   if(type!="open" && type!="modify" && type!="cancel" && type!="close")
      return "unknown command type '"+type+"'; expected one of ['cancel', 'close', 'modify', 'open']";
   string numbers[]={"price","sl","tp","volume","ticket","signal_id","expires_at"};
   for(int i=0;i<ArraySize(numbers);i++)
      if(cmd.IsWrong(numbers[i],SD_JSON_NUMBER))
         return numbers[i]+" must be a number, got "+cmd.Str(numbers[i]);
   if(type!="open")
      return "";
   string side=cmd.Str("side");
   if(side!="buy" && side!="sell")
      return "side must be buy or sell, got '"+side+"'";
   string order_type=cmd.Str("order_type","limit");
   if(order_type=="")
      order_type="limit";
   if(order_type!="limit" && order_type!="market")
      return "order_type must be limit or market, got '"+order_type+"'";
   if(cmd.Num("volume")<=0)
      return "volume missing or not positive";
   if(order_type=="limit" && cmd.Num("price")<=0)
      return "an open needs a volume, and a price for a limit order";
   return "";
  }

class CSdTrader
  {
private:
   long              m_magic;
   int               m_max_spread;
   double            m_max_lot;
   int               m_max_positions;
   ulong             m_deviation;

   int               OursOpen(void)
     {
      int count=0;
      for(int i=PositionsTotal()-1;i>=0;i--)
         if(PositionGetTicket(i)>0 && PositionGetInteger(POSITION_MAGIC)==m_magic)
            count++;
      for(int i=OrdersTotal()-1;i>=0;i--)
         if(OrderGetTicket(i)>0 && OrderGetInteger(ORDER_MAGIC)==m_magic)
            count++;
      return count;
     }

   //--- a netting account holds one position per symbol: an opposite order would close
   //--- another signal's position instead of opening one (ea/client_exec.py _netting_guard)
   string            NettingGuard(const string symbol,const bool buy)
     {
      if(SdIsHedging())
         return "";
      for(int i=PositionsTotal()-1;i>=0;i--)
        {
         ulong t=PositionGetTicket(i);
         if(t==0 || PositionGetString(POSITION_SYMBOL)!=symbol)
            continue;
         bool pos_buy=PositionGetInteger(POSITION_TYPE)==POSITION_TYPE_BUY;
         if(pos_buy!=buy)
            return StringFormat("netting account: a %s position of %s is open (#%I64u); a %s "
                                "order would close it instead of opening one",
                                pos_buy ? "buy" : "sell",symbol,t,buy ? "buy" : "sell");
        }
      return "";
     }

   //--- send; the retcode (0 with the error logged when OrderSend could not even check it)
   uint              Send(MqlTradeRequest &req,MqlTradeResult &res)
     {
      ZeroMemory(res);
      ResetLastError();
      if(!OrderSend(req,res) && res.retcode==0)
         PrintFormat("SignalDesk: OrderSend failed before reaching the server, error %d",
                     GetLastError());
      return res.retcode;
     }

   //--- true (with r set) when the retcode is NOT_NOW or UNSURE
   bool              Unsettled(const uint code,const string what,SdResult &r)
     {
      if(code==TRADE_RETCODE_CLIENT_DISABLES_AT)
         r.outcome=SD_OUTCOME_NOT_NOW;
      else if(code==TRADE_RETCODE_TIMEOUT || code==TRADE_RETCODE_CONNECTION)
         r.outcome=SD_OUTCOME_UNSURE;
      else
         return false;
      r.why=SdTradeError(what,code,"");
      return true;
     }

   void              Base(MqlTradeRequest &req,const string symbol)
     {
      ZeroMemory(req);
      req.symbol=symbol;
      req.magic=(ulong)m_magic;
      req.deviation=m_deviation;
     }

public:
   void              Init(const long magic,const int max_spread,const double max_lot,
                          const int max_positions)
     {
      m_magic=magic;
      m_max_spread=max_spread;
      m_max_lot=max_lot;
      m_max_positions=max_positions;
      m_deviation=10;
     }

   //--- why the open must not be placed ("" = go): ea/client_exec.py Executor.guard
   string            Guard(const string symbol,const double volume,const bool buy)
     {
      if(!SymbolSelect(symbol,true))
         return "unknown_symbol: "+symbol;
      if(volume<=0)
         return "volume missing or not positive";
      if(m_max_lot>0 && volume>m_max_lot)
         return "guard: volume "+SdNumber(volume)+" > max lot "+SdNumber(m_max_lot);
      int open=OursOpen();
      if(m_max_positions>0 && open>=m_max_positions)
         return StringFormat("guard: %d open positions/orders >= max %d",open,m_max_positions);
      long spread=SymbolInfoInteger(symbol,SYMBOL_SPREAD);
      if(m_max_spread>0 && spread>m_max_spread)
         return StringFormat("guard: spread %I64d points > max %d",spread,m_max_spread);
      return NettingGuard(symbol,buy);
     }

   //--- place the order: "placed" (limit) or "filled" (market, ticket = the position id
   //--- from the deal: on a netting account it is the symbol's existing position)
   void              Open(CSdJson *cmd,const string comment,SdResult &r)
     {
      ZeroMemory(r);
      string id=cmd.Str("id"),symbol=cmd.Str("symbol");
      bool buy=cmd.Str("side")=="buy";
      bool market=cmd.Str("order_type","limit")=="market";
      double volume=cmd.Num("volume"),price=cmd.Num("price");
      long expires=cmd.Int("expires_at");
      string reason=Guard(symbol,volume,buy);
      if(reason!="")
        {
         SdRefuse(r,id,reason);
         return;
        }
      int digits=SdDigits(symbol);
      MqlTradeRequest req;
      MqlTradeResult res;
      Base(req,symbol);
      req.volume=volume;
      req.comment=comment;
      req.sl=cmd.Num("sl")>0 ? NormalizeDouble(cmd.Num("sl"),digits) : 0.0;
      req.tp=cmd.Num("tp")>0 ? NormalizeDouble(cmd.Num("tp"),digits) : 0.0;
      req.type_filling=SdFilling(symbol,market);
      if(market)
        {
         MqlTick tick;
         if(!SymbolInfoTick(symbol,tick) || tick.ask<=0 || tick.bid<=0)
           {
            SdRefuse(r,id,"market_closed: no quote for "+symbol);
            return;
           }
         req.action=TRADE_ACTION_DEAL;
         req.type=buy ? ORDER_TYPE_BUY : ORDER_TYPE_SELL;
         req.price=buy ? tick.ask : tick.bid;
        }
      else
        {
         bool specified=expires>0
                        && (SymbolInfoInteger(symbol,SYMBOL_EXPIRATION_MODE)&SYMBOL_EXPIRATION_SPECIFIED)!=0;
         req.action=TRADE_ACTION_PENDING;
         req.type=buy ? ORDER_TYPE_BUY_LIMIT : ORDER_TYPE_SELL_LIMIT;
         req.price=NormalizeDouble(price,digits);
         req.type_time=specified ? ORDER_TIME_SPECIFIED : ORDER_TIME_GTC;
         req.expiration=specified ? (datetime)(expires+SdServerOffset()) : (datetime)0;
        }
      uint code=Send(req,res);
      if(Unsettled(code,"open",r))
        {
         r.ticket=(long)res.order;
         return;
        }
      if(!SdSucceeded(code))
        {
         SdRefuse(r,id,SdTradeError("order_rejected",code,res.comment));
         return;
        }
      long now=(long)TimeGMT();
      double filled=res.volume>0 ? res.volume : volume; // a partial fill reports its own
      if(!market)
        {
         SdDone(r,id,SD_ACK_PLACED,(long)res.order,req.price,filled,now,"");
         return;
        }
      long position=(long)res.order;
      double at=res.price>0 ? res.price : req.price;
      if(res.deal>0 && HistoryDealSelect(res.deal))
        {
         long from_deal=HistoryDealGetInteger(res.deal,DEAL_POSITION_ID);
         if(from_deal>0)
            position=from_deal;
         at=HistoryDealGetDouble(res.deal,DEAL_PRICE);
         filled=HistoryDealGetDouble(res.deal,DEAL_VOLUME);
         now=SdUtc((datetime)HistoryDealGetInteger(res.deal,DEAL_TIME));
        }
      SdDone(r,id,SD_ACK_FILLED,position,at,filled,now,"",SdSpread(req.symbol));
     }

   //--- move a pending order (price, sl, tp) or, once filled, the position's sl/tp. An
   //--- unknown result runs again on redelivery (NOT_NOW): it is idempotent
   void              Modify(CSdJson *cmd,const long ticket,SdResult &r)
     {
      ZeroMemory(r);
      string id=cmd.Str("id");
      if(ticket<=0)
        {
         SdRefuse(r,id,"modify: no ticket for this signal");
         return;
        }
      MqlTradeRequest req;
      MqlTradeResult res;
      if(OrderSelect((ulong)ticket))
        {
         if(cmd.IsNull("price"))
           {
            SdRefuse(r,id,"modify: price missing");
            return;
           }
         string symbol=OrderGetString(ORDER_SYMBOL);
         int digits=SdDigits(symbol);
         Base(req,symbol);
         req.action=TRADE_ACTION_MODIFY;
         req.order=(ulong)ticket;
         req.price=NormalizeDouble(cmd.Num("price"),digits);
         req.sl=cmd.Num("sl")>0 ? NormalizeDouble(cmd.Num("sl"),digits) : 0.0;
         req.tp=cmd.Num("tp")>0 ? NormalizeDouble(cmd.Num("tp"),digits) : 0.0;
         req.type_time=(ENUM_ORDER_TYPE_TIME)OrderGetInteger(ORDER_TYPE_TIME);
         req.expiration=(datetime)OrderGetInteger(ORDER_TIME_EXPIRATION);
         double volume=OrderGetDouble(ORDER_VOLUME_CURRENT);
         uint code=Send(req,res);
         if(Unsettled(code,"modify",r))
           {
            r.outcome=SD_OUTCOME_NOT_NOW;
            return;
           }
         if(!SdSucceeded(code))
           {
            SdRefuse(r,id,SdTradeError("modify",code,res.comment));
            return;
           }
         SdDone(r,id,SD_ACK_PLACED,ticket,req.price,volume,(long)TimeGMT(),"");
         return;
        }
      if(!SdSelectPosition(ticket))
        {
         SdRefuse(r,id,StringFormat("modify: #%I64d is not open",ticket));
         return;
        }
      string symbol=PositionGetString(POSITION_SYMBOL);
      int digits=SdDigits(symbol);
      double open_price=PositionGetDouble(POSITION_PRICE_OPEN);
      double volume=PositionGetDouble(POSITION_VOLUME);
      Base(req,symbol);
      req.action=TRADE_ACTION_SLTP;
      req.position=(ulong)PositionGetInteger(POSITION_TICKET);
      req.sl=cmd.Num("sl")>0 ? NormalizeDouble(cmd.Num("sl"),digits) : 0.0;
      req.tp=cmd.Num("tp")>0 ? NormalizeDouble(cmd.Num("tp"),digits) : 0.0;
      uint code=Send(req,res);
      if(Unsettled(code,"modify",r))
        {
         r.outcome=SD_OUTCOME_NOT_NOW;
         return;
        }
      if(!SdSucceeded(code))
        {
         SdRefuse(r,id,SdTradeError("modify",code,res.comment));
         return;
        }
      SdDone(r,id,SD_ACK_FILLED,ticket,open_price,volume,(long)TimeGMT(),"");
     }

   //--- delete a pending order; one that is gone counts as cancelled unless it filled
   //--- (then the server must send a close). Unknown results run again (NOT_NOW)
   void              Cancel(const string id,const long ticket,SdResult &r)
     {
      ZeroMemory(r);
      if(ticket<=0)
        {
         SdRefuse(r,id,"cancel: no ticket for this signal");
         return;
        }
      if(OrderSelect((ulong)ticket))
        {
         MqlTradeRequest req;
         MqlTradeResult res;
         Base(req,OrderGetString(ORDER_SYMBOL));
         req.action=TRADE_ACTION_REMOVE;
         req.order=(ulong)ticket;
         uint code=Send(req,res);
         if(Unsettled(code,"cancel",r))
           {
            r.outcome=SD_OUTCOME_NOT_NOW;
            return;
           }
         if(!SdSucceeded(code))
           {
            SdRefuse(r,id,SdTradeError("cancel",code,res.comment));
            return;
           }
        }
      else if(SdSelectPosition(ticket) || (HistoryOrderSelect((ulong)ticket)
              && HistoryOrderGetInteger((ulong)ticket,ORDER_STATE)==ORDER_STATE_FILLED))
        {
         SdRefuse(r,id,StringFormat("cancel: #%I64d already filled",ticket));
         return;
        }
      SdDone(r,id,SD_ACK_CANCELLED,ticket,0,0,(long)TimeGMT(),"");
     }

   //--- close `volume` of the position, else our `share` (a netting position can hold
   //--- other fills: they stay open), else all of it. An opposite deal with the position's
   //--- ticket on a hedging account, without it on a netting one: both close partially
   //--- (CTrade's PositionClosePartial works on hedging accounts only)
   void              Close(CSdJson *cmd,const long ticket,const double share,
                           const string comment,SdResult &r)
     {
      ZeroMemory(r);
      string id=cmd.Str("id");
      if(ticket<=0)
        {
         SdRefuse(r,id,"close: no ticket for this signal");
         return;
        }
      MqlTradeRequest req;
      MqlTradeResult res;
      if(!SdSelectPosition(ticket))
        {
         if(!OrderSelect((ulong)ticket))
           {
            SdDone(r,id,SD_ACK_CLOSED,ticket,0,0,(long)TimeGMT(),
                   StringFormat("#%I64d was not open",ticket));
            return;
           }
         SdResult cancelled;
         Cancel(id,ticket,cancelled);
         if(cancelled.outcome!=SD_OUTCOME_DONE || cancelled.status!=SD_ACK_CANCELLED)
           {
            r=cancelled;
            return;
           }
         SdDone(r,id,SD_ACK_CLOSED,ticket,0,0,(long)TimeGMT(),"pending order cancelled");
         return;
        }
      string symbol=PositionGetString(POSITION_SYMBOL);
      bool buy=PositionGetInteger(POSITION_TYPE)==POSITION_TYPE_BUY;
      double held=PositionGetDouble(POSITION_VOLUME);
      double volume=cmd.Num("volume");
      if(volume<=0)
         volume=(share>0 && share<held) ? share : held;
      MqlTick tick;
      if(!SymbolInfoTick(symbol,tick))
        {
         SdRefuse(r,id,"market_closed: no quote for "+symbol);
         return;
        }
      Base(req,symbol);
      req.action=TRADE_ACTION_DEAL;
      req.volume=volume;
      req.type=buy ? ORDER_TYPE_SELL : ORDER_TYPE_BUY;
      req.price=buy ? tick.bid : tick.ask;
      req.comment=comment;
      req.type_filling=SdFilling(symbol,true);
      if(SdIsHedging())
         req.position=(ulong)PositionGetInteger(POSITION_TICKET);
      uint code=Send(req,res);
      if(Unsettled(code,"close",r))
        {
         r.ticket=ticket;
         return;
        }
      if(!SdSucceeded(code))
        {
         SdRefuse(r,id,SdTradeError("close",code,res.comment));
         return;
        }
      double closed=res.volume>0 ? res.volume : volume;
      SdDone(r,id,SD_ACK_CLOSED,ticket,res.price,closed,(long)TimeGMT(),"");
     }
  };
//+------------------------------------------------------------------+
